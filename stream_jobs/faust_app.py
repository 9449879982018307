"""Stream jobs on Kafka as a Faust app (faust-streaming 0.15, aiokafka 0.14).

One agent per handler of stream_jobs/handlers.py (samples, texts, hits); each
is a thin ``async for`` shell around the SAME handler functions the embedded
runner calls: a batch of events goes through them in a worker thread (they
block), the outputs are sent with the worker's producer (aiokafka, acks=all,
every ack awaited), and only then are the events acked, so an offset is
committed only after everything derived from it is durable (Faust also
flushes its producer, which carries the table changelog, before each commit).
Fixes to faust/aiokafka that this relies on are in stream_jobs/faust_patches.py.

- Per-source media state lives in the Faust table ``media-state`` (changelog
  topic ``<app id>-media-state-changelog``, co-partitioned with samples by the
  source-id key). Each entry remembers the offset it includes, so a record
  replayed after a crash is recognised and skipped (as the embedded runner).
- A record a handler rejects goes to the dead-letter topic with the reason
  and the original; a backing service that is down (Elasticsearch stopped,
  broker restarting) makes the agent back off and retry the same batch.
- Several workers share the partitions through the consumer group (the app id).
- Batches, one agent instance each: ``batches`` takes up to BATCH_MAX events (or what came
  within BATCH_WITHIN s) and the agent acks them, in order, only after the handler's outputs
  are durable. Never several instances of an agent: faust commits up to the end of the first
  run of consecutive acked offsets, so out-of-order acks could commit past an event still in
  flight; and never faust's auto-ack, which acks the current event(s) when the agent body
  raises or is cancelled. A failed batch is retried with backoff, never acked.

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
from typing import Any, AsyncIterator, Callable

from core.errors import ServiceUnavailable
from core.events import Topic
from core.settings import Settings
from stream_jobs import faust_patches
from stream_jobs.faust_steps import Jobs, Row, Wire, decode, key_of

log = logging.getLogger(__name__)

APP_ID = "qinglang-jobs"
BATCH_MAX = 500  # events per handler call
BATCH_WITHIN = 0.05  # seconds to wait for more events once the first of a batch arrived


async def batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """Yield the stream's events in batches: up to ``max_``, or those that came within ``within`` s.

    The stream is switched to manual acks (``noack``): the caller acks a batch only after its
    outputs are durable. Faust's own ``take_events`` acks a batch when the loop body exits, even
    by an exception or a cancellation (a rebalance, a stop), which would commit unprocessed events.
    """
    loop = asyncio.get_running_loop()
    manual = stream.noack()
    events = manual.events().__aiter__()
    queue = getattr(getattr(manual, "channel", None), "queue", None)  # what the stream has buffered

    def buffered() -> bool:
        return queue is not None and not queue.empty()

    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = loop.create_task(events.__anext__())
            try:
                batch = [await pending]
            except StopAsyncIteration:
                return
            pending = None
            deadline = loop.time() + within
            while len(batch) < max_:
                try:
                    if buffered():  # the common case under load: no task, no timer
                        batch.append(await events.__anext__())
                        continue
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    pending = loop.create_task(events.__anext__())
                    done, _ = await asyncio.wait({pending}, timeout=remaining)
                    if not done:
                        break  # keep the pending read for the next batch
                    batch.append(pending.result())
                    pending = None
                except StopAsyncIteration:
                    yield batch
                    return
            yield batch
    finally:
        if pending is not None:
            pending.cancel()


STALL_SECONDS = 20.0  # an owned partition with a backlog, idle agents and no commit for this long is re-read
HOLE_SECONDS = 8.0  # acked offsets waiting this long behind one never acked: mend (see faust_patches.holes)


def make_app(settings: Settings, jobs: Jobs | None = None) -> Any:
    """The Faust app with its three agents and the media-state table."""
    import faust

    from stream_jobs.runner import DEAD, LATENCY, RECORDS, WAIT  # the metrics the embedded runner reports too

    faust_patches.apply()

    jobs = jobs or Jobs(settings)
    bus = jobs.bus
    parts = settings.kafka_partitions
    datadir = Path(tempfile.mkdtemp(prefix="faust-", dir=settings.ensure_data_dir()))
    app = faust.App(
        bus.name(APP_ID),
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
        producer_acks=-1,  # outputs: acks=all (not idempotent outside transactions; ids dedupe a retry)
        producer_max_request_size=bus.max_request_bytes,
        # on a rebalance, don't wait for buffered events: what is not committed is delivered again
        stream_wait_empty=False,
        # no standby copies of the media-state table: a new owner reads the changelog (small: one
        # entry per source) instead; standby recovery added a second recovery path to every rebalance
        table_standby_replicas=0,
        key_serializer="raw",
        value_serializer="raw",
    )
    app.qinglang_datadir = datadir  # type: ignore[attr-defined]
    executor = ThreadPoolExecutor(max_workers=3, thread_name_prefix="qinglang-jobs")  # one per agent

    def topic(name: Topic) -> Any:
        return app.topic(bus.name(name.value), key_type=bytes, value_type=bytes, partitions=parts)

    # bytes key and value (JSON we encode ourselves): faust derives the changelog codec from the type,
    # and a dict value type breaks recovery (it calls dict.from_data), which then hangs for good.
    media = app.Table("media-state", default=None, partitions=parts, key_type=bytes, value_type=bytes)

    async def send(wire: list[Wire]) -> None:
        """Write outputs with the worker's producer (aiokafka, acks=all) and wait for every ack."""
        producer = app.producer
        futures = [await producer.send(name, key, value, None, None, None) for name, key, value in wire]
        if futures:
            await asyncio.gather(*futures)

    async def retrying(fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking step in a thread and send its outputs, until both succeed.

        A failure means back off and run the step again (its handlers are idempotent). A down
        service (ServiceUnavailable) is expected and logged as a warning; anything else (e.g. the
        broker refusing a send) is logged with its traceback. Either way the batch stays unacked,
        so nothing is skipped.
        """
        loop = asyncio.get_running_loop()
        delay = 0.5
        stage = fn.__name__
        dead_topic = bus.name(Topic.DEAD_LETTER.value)
        busy[stage] = True  # the stall watchdog leaves a partition alone while its agent works
        try:
            while True:
                try:
                    t0 = time.monotonic()
                    result = await loop.run_in_executor(executor, fn, *args)
                    wire: list[Wire] = result[0] if isinstance(result, tuple) else result
                    t1 = time.monotonic()
                    await send(wire)
                    log.debug("%s: %d in, %d out, step %.3f s, send %.3f s",
                              stage, len(args[0]), len(wire), t1 - t0, time.monotonic() - t1)
                    RECORDS.labels(stage).inc(len(args[0]))
                    DEAD.labels(stage).inc(sum(1 for t, _, _ in wire if t == dead_topic))
                    LATENCY.labels(stage).observe(time.monotonic() - t0)
                    return result
                except ServiceUnavailable as exc:
                    log.warning("%s; retrying the batch in %.1f s", exc.message, delay)
                except Exception:
                    log.exception("%s failed; retrying the batch in %.1f s", stage, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
        finally:
            busy[stage] = False

    busy: dict[str, bool] = {}
    watched = {bus.name(t.value) for t in (Topic.SAMPLES, Topic.TEXTS, Topic.HITS)}
    progress: dict[Any, tuple[int, float]] = {}  # partition -> (committed offset, since when)

    @app.timer(interval=5.0)
    async def unstick() -> None:
        """Re-read from the committed offsets when an owned partition stalls.

        Under rebalances faust can drop records it had fetched (an event tagged with the previous
        generation is skipped, not acked; a record behind a stale read offset is dropped) without
        fetching them again, and the commit (see faust_patches: only a run starting at the
        committed offset) then waits for them for good. The records are safe (never committed),
        but nothing moves until the next rebalance. So: a partition of ours with records past its
        committed offset, no commit for STALL_SECONDS and no agent busy is sought back to its
        committed offset, as after a rebalance; what was done already comes again and is idempotent.
        """
        consumer = app.consumer
        now = time.monotonic()
        holes = faust_patches.holes(consumer)
        lasting = {tp: since for tp, since in holes.items() if now - since >= HOLE_SECONDS}
        if lasting:  # records dropped around a rebalance: acked records wait behind them for good
            for tp in lasting:
                holes.pop(tp, None)
                try:
                    await mend(consumer, tp)
                except Exception as exc:  # noqa: BLE001 - the broker may be restarting; the hole comes back
                    log.warning("could not mend %s[%d] yet: %s", tp.topic, tp.partition, exc)
            progress.clear()
            return
        tps = [tp for tp in consumer.assignment() if tp.topic in watched]
        if not tps or any(busy.values()) or not app.flow_control.is_active():
            progress.clear()
            return
        loop = asyncio.get_running_loop()

        def broker_committed() -> dict[tuple[str, int], int]:  # the group's offsets as the broker has them
            out: dict[tuple[str, int], int] = {}
            for topic in {tp.topic for tp in tps}:
                plain = topic.removeprefix(bus.prefix)
                for part, offset in bus.committed(APP_ID, plain).items():
                    out[(topic, part)] = offset
            return out

        try:
            ends = await consumer.highwaters(*tps)
            committed_at = await loop.run_in_executor(None, broker_committed)
        except Exception as exc:  # noqa: BLE001 - the broker may be restarting; look again later
            log.debug("stall check skipped: %s", exc)
            return
        now = time.monotonic()
        stalled = []
        for tp in tps:
            committed = committed_at.get((tp.topic, tp.partition), 0)
            end = ends.get(tp)
            if end is None or end <= committed:
                progress.pop(tp, None)
                continue
            seen, since = progress.get(tp, (-1, now))
            if seen != committed:
                progress[tp] = (committed, now)
            elif now - since >= STALL_SECONDS:
                stalled.append((tp, committed, end))
        if stalled:
            log.warning("no progress for %.0f s on %s; reading again from the committed offsets",
                        STALL_SECONDS, ", ".join(f"{tp.topic}[{tp.partition}] at {c} of {e}" for tp, c, e in stalled))
            progress.clear()
            await reread(consumer)

    async def reread(consumer: Any) -> None:
        """Seek every partition to its committed offset, as faust does after a rebalance: with the
        fetch loop stopped first, else records it already holds (past the committed offset) are
        delivered after the seek and move its read offset past the re-read ones, which it drops."""
        await app._stop_fetcher()
        try:
            await consumer.perform_seek()
        finally:
            await app._fetcher.maybe_start()

    def rows(events: list[Any], stage: str) -> list[Row]:
        stamps = [e.message.timestamp for e in events if e.message.timestamp]
        if stamps:
            WAIT.labels(stage).observe(max(0.0, time.time() - min(stamps)))
        return [(e.message.offset, e.key, e.value) for e in events]

    async def ack(stream: Any, events: list[Any]) -> None:
        for event in events:
            await stream.ack(event)

    async def handle_samples(batch: list[Row], partitions: list[int]) -> None:
        states: dict[str, Any] = {}
        partition: dict[str, int] = {}
        for (_, raw_key, _), part in zip(batch, partitions, strict=True):
            k = key_of(raw_key) or ""
            if k not in partition:  # each source's saved state is looked up once per batch
                state = decode(media.data.get(k.encode("utf-8")))
                if state:
                    states[k] = state
            partition[k] = part
        _, changed = await retrying(jobs.samples, batch, states)
        for k, entry in changed.items():  # JSON bytes in the table (and its changelog)
            raw_key, raw = k.encode("utf-8"), json.dumps(entry, ensure_ascii=False).encode("utf-8")
            media.data[raw_key] = raw
            media.send_changelog(partition[k], raw_key, raw)

    async def handle_texts(batch: list[Row], partitions: list[int]) -> None:
        await retrying(jobs.texts, batch)

    async def handle_hits(batch: list[Row], partitions: list[int]) -> None:
        await retrying(jobs.hits, batch)

    handlers = {bus.name(Topic.SAMPLES.value): handle_samples, bus.name(Topic.TEXTS.value): handle_texts,
                bus.name(Topic.HITS.value): handle_hits}

    async def mend(consumer: Any, tp: Any) -> None:
        """Handle the records of a hole (never delivered by faust) read straight from the broker, then
        ack them, so the commit moves on; see faust_patches.holes."""
        found = faust_patches.hole_range(consumer, tp)
        if found is None or tp.topic not in handlers:
            return
        start, end = found
        plain = tp.topic.removeprefix(bus.prefix)
        loop = asyncio.get_running_loop()
        got = await loop.run_in_executor(None, bus.read_range, plain, tp.partition, start, end)
        batch: list[Row] = list(got)
        log.warning("%s[%d]: offsets %d to %d were never delivered by faust; handling them from the broker",
                    tp.topic, tp.partition, start, end - 1)
        if batch:
            await handlers[tp.topic](batch, [tp.partition] * len(batch))
        done = [offset for offset, _, _ in batch]
        if len(done) < end - start:  # records the broker no longer has: deleted by retention, unprocessed
            first = (await consumer.earliest_offsets(tp)).get(tp, start)
            handled = set(done)
            gone = [o for o in range(start, min(first, end)) if o not in handled]
            if gone:
                log.error("%s[%d]: records %d to %d were deleted by the topic's retention before they were "
                          "processed; they are lost. Raise retention.ms or add workers.",
                          tp.topic, tp.partition, gone[0], gone[-1])
                done += gone
        faust_patches.mark_acked(consumer, tp, done)

    @app.agent(topic(Topic.SAMPLES), name="samples")
    async def samples_agent(stream: Any) -> None:
        async for events in batches(stream, BATCH_MAX, BATCH_WITHIN):
            await handle_samples(rows(events, "samples"), [e.message.partition for e in events])
            await ack(stream, events)

    @app.agent(topic(Topic.TEXTS), name="texts")
    async def texts_agent(stream: Any) -> None:
        async for events in batches(stream, BATCH_MAX, BATCH_WITHIN):
            await handle_texts(rows(events, "texts"), [])
            await ack(stream, events)

    @app.agent(topic(Topic.HITS), name="hits")
    async def hits_agent(stream: Any) -> None:
        async for events in batches(stream, BATCH_MAX, BATCH_WITHIN):
            await handle_hits(rows(events, "hits"), [])
            await ack(stream, events)

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
    class Worker(faust.Worker):  # type: ignore[misc]
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # mode leaves the root logger at DEBUG whatever the level asked for, so every
            # aiokafka debug call builds a log record (~5% of a worker's CPU) only to drop it
            logger.setLevel(logging.getLevelName(loglevel.upper()) if isinstance(loglevel, str) else loglevel)
            for name in filter(None, os.environ.get("QJ_INFO_LOGGERS", "").split(",")):  # e.g. faust.tables
                logging.getLogger(name).setLevel(logging.INFO)

    jobs = Jobs(settings)
    app = make_app(settings, jobs)
    try:
        Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        jobs.close()
        shutil.rmtree(app.qinglang_datadir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - used by tests and bench as a subprocess
    import os

    from core.settings import get_settings

    run_worker(get_settings(), loglevel=os.environ.get("QJ_LOGLEVEL", "warning"))
