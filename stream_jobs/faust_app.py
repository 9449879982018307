"""Stream jobs on Kafka as a Faust app (faust-streaming 0.15, aiokafka 0.14).

One agent per handler of stream_jobs/handlers.py (samples, texts, hits); each
is a thin ``async for`` shell: for each event, run the SAME handler function
the embedded runner calls (in a worker thread, it blocks), write the outputs
with the kafka-python bus (acks=all, waits for every ack), and only then let
Faust ack the event, so an offset is committed only after everything derived
from it is durable (Faust also flushes its own producer,
the table changelog, before each commit).

- Per-source media state lives in the Faust table ``media-state`` (changelog
  topic ``<app id>-media-state-changelog``, co-partitioned with samples by the
  source-id key). Each entry remembers the offset it includes, so a record
  replayed after a crash is recognised and skipped (as the embedded runner).
- A record a handler rejects goes to the dead-letter topic with the reason
  and the original; a backing service that is down (Elasticsearch stopped,
  broker restarting) makes the agent back off and retry the same batch.
- Several workers share the partitions through the consumer group (the app id).
- One event at a time: ``stream.take_events`` batches stalled after a rebalance
  between two workers (faust-streaming 0.15.3), so the agents do not batch.

Run one worker: ``qinglang jobs --distributed`` or ``python -m stream_jobs.faust_app``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from core.errors import ConfigError, QinglangError, ServiceUnavailable
from core.events import Topic
from core.settings import Settings
from stream_jobs.handlers import Out, dead_letter, handle_hits, handle_sample, handle_text, refused_output

log = logging.getLogger(__name__)

APP_ID = "qinglang-jobs"
CONCURRENCY = 4  # instances of the stateless agents (texts, hits) per worker


def _decode(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", "replace")


def _key(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


def _guard(stage: str, topic: str, key: str | None, value: Any, fn: Callable[[], list[Out]]) -> list[Out]:
    """Run one handler call; a rejected record becomes a dead letter, a down service propagates."""
    try:
        if not isinstance(value, dict):
            raise QinglangError(f"record on {topic} is not a JSON object", hint="producers send event.to_json()")
        return fn()
    except ServiceUnavailable:
        raise
    except QinglangError as exc:
        log.warning("dead-letter %s key %s: %s", topic, key, exc.message)
        return [dead_letter(topic, key, value, stage, exc.message)]
    except Exception as exc:  # a bug or unexpected input: keep the stream going, keep the record
        log.exception("handler %s failed on %s key %s", stage, topic, key)
        return [dead_letter(topic, key, value, stage, f"{type(exc).__name__}: {exc}")]


class Jobs:
    """The services one worker needs, and the synchronous batch steps its agents run in threads."""

    def __init__(self, settings: Settings) -> None:
        from core.bus.kafka import KafkaBus
        from core.services import Services
        from stream_jobs.context import HandlerContext

        if not settings.bus_url.startswith("kafka://"):
            raise ConfigError(
                f"the distributed jobs need a Kafka bus, not {settings.bus_url}",
                hint="set QINGLANG_BUS=kafka://127.0.0.1:9092 (start it with `qinglang services start kafka`)",
            )
        self.settings = settings
        self.services = Services(settings)
        bus = self.services.bus
        assert isinstance(bus, KafkaBus)
        self.bus: KafkaBus = bus
        self.bus.ensure_topics([t.value for t in Topic], partitions=settings.kafka_partitions)
        self.ctx = HandlerContext.from_services(self.services)

    def write(self, outs: list[Out]) -> None:
        by_topic: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}
        for topic, key, value in outs:
            by_topic.setdefault(topic, []).append((key, value))
        for topic, items in by_topic.items():
            try:
                self.bus.produce_many(topic, items)
            except ServiceUnavailable:
                raise
            except QinglangError:  # an output the bus refuses (e.g. too large): dead-letter it, keep the rest
                for key, value in items:
                    try:
                        self.bus.produce(topic, key, value)
                    except ServiceUnavailable:
                        raise
                    except QinglangError as exc:
                        log.warning("output to %s refused by the bus: %s", topic, exc.message)
                        self.bus.produce(*refused_output(topic, key, value, "write", exc.message))

    def samples(self, batch: list[tuple[int, str | None, Any]], states: dict[str, dict[str, Any]]
                ) -> tuple[list[Out], dict[str, dict[str, Any]]]:
        """Fold a batch of samples; ``states`` (key -> {state, offset}) is updated and returned."""
        outs: list[Out] = []
        changed: dict[str, dict[str, Any]] = {}
        for offset, key, value in batch:
            k = key or ""
            saved = changed.get(k) or states.get(k) or {}
            if offset <= int(saved.get("offset", -1)):
                continue  # already folded into the saved state before a crash

            def run(saved: dict[str, Any] = saved, value: Any = value, k: str = k, offset: int = offset) -> list[Out]:
                got, new_state = handle_sample(self.ctx, value, saved.get("state"))
                changed[k] = {"state": new_state, "offset": offset}
                return got

            outs.extend(_guard("samples", Topic.SAMPLES.value, key, value, run))
        self.write(outs)
        return outs, changed

    def texts(self, batch: list[tuple[int, str | None, Any]]) -> list[Out]:
        outs: list[Out] = []
        for _, key, value in batch:
            outs.extend(_guard("texts", Topic.TEXTS.value, key, value, lambda v=value: handle_text(self.ctx, v)))
        self.write(outs)
        return outs

    def hits(self, batch: list[tuple[int, str | None, Any]]) -> list[Out]:
        values = [v for _, _, v in batch]
        try:
            if not all(isinstance(v, dict) for v in values):
                raise ValueError("a record is not a JSON object")
            outs = handle_hits(self.ctx, values)
        except ServiceUnavailable:
            raise
        except Exception:  # a bad hit in the batch: handle them one by one, dead-letter the bad ones
            outs = []
            for _, key, value in batch:
                outs.extend(_guard("hits", Topic.HITS.value, key, value, lambda v=value: handle_hits(self.ctx, [v])))
        self.write(outs)
        return outs

    def close(self) -> None:
        self.services.close()


def make_app(settings: Settings, jobs: Jobs | None = None, *, app_id: str | None = None) -> Any:
    """The Faust app with its three agents and the media-state table."""
    import faust

    jobs = jobs or Jobs(settings)
    bus = jobs.bus
    parts = settings.kafka_partitions
    datadir = Path(tempfile.mkdtemp(prefix="faust-", dir=settings.ensure_data_dir()))
    app = faust.App(
        app_id or bus.name(APP_ID),
        broker=f"kafka://{bus.address}",
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        topic_partitions=parts,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=10.0,  # a killed worker's partitions move on within ~10 s
        broker_heartbeat_interval=3.0,
        producer_acks=-1,
        # on a rebalance, don't wait for buffered events: what is not committed is delivered again
        stream_wait_empty=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    app.qinglang_datadir = datadir  # type: ignore[attr-defined]
    executor = ThreadPoolExecutor(max_workers=1 + 2 * CONCURRENCY, thread_name_prefix="qinglang-jobs")

    def topic(name: Topic) -> Any:
        return app.topic(bus.name(name.value), key_type=bytes, value_type=bytes, partitions=parts)

    # bytes key and value (JSON we encode ourselves): faust derives the changelog codec from the type,
    # and a dict value type breaks recovery (it calls dict.from_data), which then hangs for good.
    media = app.Table("media-state", default=None, partitions=parts, key_type=bytes, value_type=bytes)

    async def retrying(fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking step in a thread; a down service means back off and run it again."""
        from stream_jobs.runner import DEAD, LATENCY, RECORDS

        loop = asyncio.get_running_loop()
        delay = 0.5
        stage = fn.__name__
        while True:
            try:
                t0 = time.monotonic()
                result = await loop.run_in_executor(executor, fn, *args)
                outs = result[0] if isinstance(result, tuple) else result
                RECORDS.labels(stage).inc(len(args[0]))
                DEAD.labels(stage).inc(sum(1 for t, _, _ in outs if t == Topic.DEAD_LETTER.value))
                LATENCY.labels(stage).observe(time.monotonic() - t0)
                return result
            except ServiceUnavailable as exc:
                log.warning("%s; retrying the batch in %.1f s", exc.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)

    def rows(events: list[Any]) -> list[tuple[int, str | None, Any]]:
        return [(e.message.offset, _key(e.key), _decode(e.value)) for e in events]

    @app.agent(topic(Topic.SAMPLES), name="samples")
    async def samples_agent(stream: Any) -> None:
        async for event in stream.events():  # acked (and later committed) after the body ran
            k = _key(event.key) or ""
            raw_key = k.encode("utf-8")
            state = _decode(media.data.get(raw_key))
            _, changed = await retrying(jobs.samples, rows([event]), {k: state} if state else {})
            for entry in changed.values():  # JSON bytes in the table (and its changelog)
                raw = json.dumps(entry, ensure_ascii=False).encode("utf-8")
                media.data[raw_key] = raw
                media.send_changelog(event.message.partition, raw_key, raw)

    # texts and hits carry no per-key state: several instances overlap their I/O waits (Kafka acks,
    # Elasticsearch requests); faust commits only up to the lowest offset not yet acked.
    @app.agent(topic(Topic.TEXTS), name="texts", concurrency=CONCURRENCY)
    async def texts_agent(stream: Any) -> None:
        async for event in stream.events():
            await retrying(jobs.texts, rows([event]))

    @app.agent(topic(Topic.HITS), name="hits", concurrency=CONCURRENCY)
    async def hits_agent(stream: Any) -> None:
        async for event in stream.events():
            await retrying(jobs.hits, rows([event]))

    return app


def run_worker(settings: Settings, *, loglevel: str = "warning", metrics_port: int | None = None) -> None:
    """Run one Faust worker until SIGINT/SIGTERM (`qinglang jobs --distributed`).

    ``metrics_port`` (or env QINGLANG_JOBS_METRICS_PORT) serves Prometheus /metrics.
    """
    import os

    import faust

    port = metrics_port or int(os.environ.get("QINGLANG_JOBS_METRICS_PORT") or 0)
    if port:
        from prometheus_client import start_http_server

        start_http_server(port)
    jobs = Jobs(settings)
    app = make_app(settings, jobs)
    try:
        faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        jobs.close()
        shutil.rmtree(app.qinglang_datadir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - used by tests and bench as a subprocess
    import os

    from core.settings import get_settings

    run_worker(get_settings(), loglevel=os.environ.get("QJ_LOGLEVEL", "warning"))
