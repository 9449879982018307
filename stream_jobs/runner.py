"""The embedded runner: drives the handlers from the bus, one thread per stage.

Each stage polls a batch, runs the handler per record, produces the batch's
outputs in one bus transaction (``produce_batch``), flushes, saves handler
state, and only then commits the offsets: nothing is
acknowledged before it is durably written downstream. A record that a handler
rejects goes to the dead-letter topic with the reason and the original; a
backing service that is down (ServiceUnavailable) makes the stage back off
and retry the same batch.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from prometheus_client import Counter, Histogram

from core.bus import Bus, Record
from core.errors import QinglangError, ServiceUnavailable
from core.events import Topic
from core.services import Services
from stream_jobs.context import HandlerContext
from stream_jobs.handlers import Out, dead_letter, handle_hits, handle_sample, handle_text, refused_output
from stream_jobs.state import SqliteStateStore

log = logging.getLogger(__name__)

GROUP = "qinglang-jobs"
STAGE_TOPICS = {"samples": Topic.SAMPLES.value, "texts": Topic.TEXTS.value, "hits": Topic.HITS.value}
# Most records per batch. Text samples, texts and hits are cheap, so large batches amortise each
# batch's fixed costs (one bus transaction, one state save, one commit, one index transaction).
BATCH = {"samples": 200, "texts": 500, "hits": 500}
# Slow records (video frames, audio chunks) shrink the batch towards this many seconds of work,
# so their outputs become durable (and searchable) without waiting for a long batch.
BATCH_SECONDS = 2.0
MIN_BATCH = 10

RECORDS = Counter("qinglang_jobs_records_total", "Records handled", ["stage"])
DEAD = Counter("qinglang_jobs_dead_letters_total", "Records sent to the dead-letter topic", ["stage"])
LATENCY = Histogram("qinglang_jobs_batch_seconds", "Time to handle one batch", ["stage"])
WAIT = Histogram("qinglang_jobs_wait_seconds", "Age of the oldest record of a batch when its stage takes it "
                 "(time on the bus, from the record's timestamp)", ["stage"],
                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))


@dataclass
class Stage:
    name: str
    topic: str
    batch: int = 0  # most records per batch; 0: BATCH[name]
    per_record: float = 0.0  # recent seconds per record (moving average)

    def __post_init__(self) -> None:
        if self.batch <= 0:
            self.batch = BATCH.get(self.name, 50)

    def limit(self) -> int:
        """Records to poll next: the batch size, fewer while records are slow."""
        if self.per_record <= 0:
            return self.batch
        return max(min(MIN_BATCH, self.batch), min(self.batch, int(BATCH_SECONDS / self.per_record)))

    def observe(self, records: int, seconds: float) -> None:
        per = seconds / max(1, records)
        self.per_record = per if self.per_record <= 0 else 0.5 * self.per_record + 0.5 * per


class EmbeddedRunner:
    def __init__(self, services: Services, *, ctx: HandlerContext | None = None) -> None:
        self.services = services
        self.bus: Bus = services.bus
        self.bus.ensure_topics([t.value for t in Topic], partitions=services.settings.kafka_partitions)
        self.ctx = ctx or HandlerContext.from_services(services)
        self.state = SqliteStateStore(services.settings.ensure_data_dir() / "jobs-state.db")
        self.stop_event = threading.Event()
        self.errors: list[str] = []

    # -- one batch -----------------------------------------------------------------
    def step(self, stage: Stage, consumer: Any, timeout: float = 0.5) -> int:
        records: list[Record] = consumer.poll(max_records=stage.limit(), timeout=timeout)
        if not records:
            return 0
        t0 = time.monotonic()
        outs: list[Out] = []
        states: dict[str, tuple[dict[str, Any], int]] = {}
        keepalive = getattr(consumer, "keepalive", None)  # keeps partition leases during a long batch
        if stage.name == "hits":
            outs.extend(self._hits_batch(records, keepalive))
        else:
            for rec in records:
                outs.extend(self._one(stage, rec, states))
                if keepalive is not None:
                    keepalive()
        if outs:
            self._produce(stage, outs)
        self.bus.flush()
        self.state.save(stage.name, states)
        consumer.commit(records)
        spent = time.monotonic() - t0
        stage.observe(len(records), spent)
        RECORDS.labels(stage.name).inc(len(records))
        LATENCY.labels(stage.name).observe(spent)
        return len(records)

    def _produce(self, stage: Stage, outs: list[Out]) -> None:
        """Write a batch's outputs in one go; an output the bus refuses goes to the dead-letter topic."""
        try:
            self.bus.produce_batch(outs)
            return
        except ServiceUnavailable:
            raise
        except QinglangError:
            pass  # some output is unacceptable (e.g. too large): find it, keep the rest
        for topic, key, value in outs:
            try:
                self.bus.produce(topic, key, value)
            except ServiceUnavailable:
                raise
            except QinglangError as exc:
                DEAD.labels(stage.name).inc()
                log.warning("output to %s refused by the bus: %s", topic, exc.message)
                self.bus.produce(*refused_output(topic, key, value, stage.name, exc.message))

    def _one(self, stage: Stage, rec: Record, states: dict[str, tuple[dict[str, Any], int]]) -> list[Out]:
        try:
            if stage.name == "samples":
                key = rec.key or ""
                if key in states:
                    state, done = states[key]
                else:
                    saved, done = self.state.load(stage.name, key)
                    state = saved or {}
                if rec.offset <= done:
                    return []  # already folded into saved state: outputs were produced before the crash
                outs, new_state = handle_sample(self.ctx, rec.value, state)
                states[key] = (new_state, rec.offset)
                return outs
            return handle_text(self.ctx, rec.value)
        except ServiceUnavailable:
            raise
        except QinglangError as exc:
            DEAD.labels(stage.name).inc()
            log.warning("dead-letter %s offset %s: %s", rec.topic, rec.offset, exc.message)
            return [dead_letter(rec.topic, rec.key, rec.value, stage.name, exc.message)]
        except Exception as exc:  # a bug or unexpected input: keep the stream going, keep the record
            DEAD.labels(stage.name).inc()
            log.exception("handler %s failed on %s offset %s", stage.name, rec.topic, rec.offset)
            return [dead_letter(rec.topic, rec.key, rec.value, stage.name, f"{type(exc).__name__}: {exc}")]

    def _hits_batch(self, records: list[Record], keepalive: Callable[[], None] | None = None) -> list[Out]:
        """Hits of media (evidence clips to cut) go in small chunks, with a heartbeat between them."""
        media = any(_needs_clip(r.value) for r in records)
        size = MIN_BATCH if media else len(records)
        outs: list[Out] = []
        for i in range(0, len(records), size):
            outs.extend(self._hits_chunk(records[i : i + size]))
            if keepalive is not None:
                keepalive()
        return outs

    def _hits_chunk(self, records: list[Record]) -> list[Out]:
        try:
            return handle_hits(self.ctx, [r.value for r in records])
        except ServiceUnavailable:
            raise
        except Exception:
            # isolate the bad record(s): retry one by one
            outs: list[Out] = []
            for rec in records:
                try:
                    outs.extend(handle_hits(self.ctx, [rec.value]))
                except ServiceUnavailable:
                    raise
                except Exception as exc:
                    DEAD.labels("hits").inc()
                    reason = exc.message if isinstance(exc, QinglangError) else f"{type(exc).__name__}: {exc}"
                    outs.append(dead_letter(rec.topic, rec.key, rec.value, "hits", reason))
            return outs

    # -- loops -----------------------------------------------------------------------
    def _loop(self, stage: Stage) -> None:
        backoff = 0.5
        consumer = self.bus.consumer(f"{GROUP}.{stage.name}", [stage.topic])
        try:
            while not self.stop_event.is_set():
                try:
                    self.step(stage, consumer)
                    backoff = 0.5
                except ServiceUnavailable as exc:
                    log.warning("stage %s: %s; retrying in %.1fs", stage.name, exc.message, backoff)
                    consumer.close()
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    consumer = self.bus.consumer(f"{GROUP}.{stage.name}", [stage.topic])
        finally:
            consumer.close()

    def start(self) -> list[threading.Thread]:
        threads = []
        for name, topic in STAGE_TOPICS.items():
            t = threading.Thread(target=self._loop, args=(Stage(name, topic),), name=f"jobs-{name}", daemon=True)
            t.start()
            threads.append(t)
        return threads

    def run(self, stop_event: threading.Event | None = None) -> None:
        if stop_event is not None:
            self.stop_event = stop_event
        threads = self.start()
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(timeout=0.5)
        except KeyboardInterrupt:
            self.stop_event.set()

    def lag(self) -> int:
        return sum(self.bus.lag(f"{GROUP}.{n}", [t]) for n, t in STAGE_TOPICS.items())

    def run_until_idle(self, timeout: float = 300.0, on_progress: Callable[[int], None] | None = None) -> int:
        """Process in this thread until every stage has no lag; returns records handled."""
        consumers = {n: self.bus.consumer(f"{GROUP}.{n}", [t]) for n, t in STAGE_TOPICS.items()}
        stages = {name: Stage(name, topic) for name, topic in STAGE_TOPICS.items()}
        total = 0
        n = 0
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                wait = 0.0 if n else 0.05  # no waiting while the previous round found work
                n = sum(self.step(stages[name], c, timeout=wait) for name, c in consumers.items())
                total += n
                if on_progress and n:
                    on_progress(n)
                if n == 0 and self.lag() == 0:
                    break
        finally:
            for c in consumers.values():
                c.close()
        self.services.index.refresh()
        return total

    def close(self) -> None:
        self.stop_event.set()
        self.state.close()


def _needs_clip(value: Any) -> bool:
    evidence = value.get("evidence") if isinstance(value, dict) else None
    return isinstance(evidence, dict) and evidence.get("media_start") is not None and not evidence.get("clip")


def run_until_idle(services: Services, timeout: float = 300.0) -> int:
    runner = EmbeddedRunner(services)
    try:
        return runner.run_until_idle(timeout=timeout)
    finally:
        runner.close()
