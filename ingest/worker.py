"""The ingest worker: runs every enabled source on its schedule and produces samples to the bus.

- ``run_source_once(source)`` reads one source once (a file or VOD to its end,
  a crawl, a feed; a live stream until ``max_seconds`` or stop) and returns the
  number of samples produced to ``qinglang.samples`` (key = source id).
- ``run(stop_event)`` is the scheduler: live streams each in their own thread
  (restarted if they end, and at once when a boost or an edit changes their
  profile, locator or options), files once, websites and feeds every recrawl
  interval (shortened by active boosts), at most ``max_parallel`` periodic runs
  at a time.

Silence: a live source with no sample for ``profile.silent_after_seconds``
produces one ``media_end`` sample with metadata ``{"signal": "silent",
"silent_seconds": N}`` (its health state becomes ``silent``); the next sample
clears it. Every error is logged with the source id and reason, counted in
the source's health and in Prometheus; nothing stops the worker.

The database must be migrated (``qinglang.wiring.migrate_all``) beforehand.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable

from prometheus_client import Counter, Gauge

from core.errors import NotFound, QinglangError
from core.events import Sample, SampleKind, Source, SourceKind, Topic, make_id, utcnow
from core.services import Services
from ingest.base import IngestContext, plugin_for
from ingest.registry import SourceRegistry, parse_schedule

log = logging.getLogger("qinglang.ingest.worker")

SAMPLES = Counter("qinglang_ingest_samples", "Samples produced", ["source_kind", "sample_kind"])
ERRORS = Counter("qinglang_ingest_errors", "Errors survived while sampling", ["source_kind"])
LAST_SAMPLE = Gauge("qinglang_ingest_last_sample_timestamp_seconds", "Unix time of the last sample",
                    ["source_kind"])
RUNNING = Gauge("qinglang_ingest_running_sources", "Sources being read now", ["source_kind"])
SILENT = Gauge("qinglang_ingest_silent_sources", "Live sources silent beyond their profile", ["source_kind"])


class _HealthBatch:
    """Samples counted in memory and written to the health table every few seconds."""

    def __init__(self, registry: SourceRegistry, source_id: str) -> None:
        self.registry, self.source_id = registry, source_id
        self.pending, self.last_flush = 0, time.monotonic()

    def add(self) -> None:
        self.pending += 1
        if self.pending >= 200 or time.monotonic() - self.last_flush > 2.0:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.registry.record_samples(self.source_id, self.pending)
            self.pending = 0
        self.last_flush = time.monotonic()


class IngestWorker:
    def __init__(self, services: Services, *, max_parallel: int = 4, poll_seconds: float = 2.0) -> None:
        self.services = services
        self.registry = SourceRegistry(services.db)
        self.max_parallel = max_parallel
        self.poll_seconds = poll_seconds
        self.extras: dict[str, Any] = {}  # shared by every context: live clip buffers
        self._topics_ready = False
        self._threads: dict[str, threading.Thread] = {}
        self._stops: dict[str, threading.Event] = {}
        self._ended: dict[str, float] = {}
        self._silent: set[str] = set()
        self._sigs: dict[str, str] = {}  # source id -> signature its live reader started with
        self._restart: set[str] = set()  # live readers stopped to pick up a new profile
        self._started = utcnow()
        self._lock = threading.Lock()

    # -- one source -------------------------------------------------------------
    def _resolve(self, source: Source | str) -> Source:
        if isinstance(source, str):
            return self.registry.source(source)
        return source

    def _on_error(self, source: Source, reason: str) -> None:
        ERRORS.labels(str(source.kind)).inc()
        self.registry.record_error(source.id, reason)

    def produce(self, sample: Sample, source_kind: str) -> None:
        if not self._topics_ready:
            self.services.bus.ensure_topics([Topic.SAMPLES.value])
            self._topics_ready = True
        self.services.bus.produce(Topic.SAMPLES.value, sample.key(), sample.to_json())
        SAMPLES.labels(source_kind, str(sample.kind)).inc()
        LAST_SAMPLE.labels(source_kind).set(time.time())
        if sample.metadata.get("signal") != "silent":
            self._silent.discard(sample.source_id)

    def _produce_batch(self, pending: list[Sample], kind: str, batch: _HealthBatch) -> None:
        if not pending:
            return
        if not self._topics_ready:
            self.services.bus.ensure_topics([Topic.SAMPLES.value])
            self._topics_ready = True
        self.services.bus.produce_many(Topic.SAMPLES.value, [(s.key(), s.to_json()) for s in pending])
        for s in pending:
            SAMPLES.labels(kind, str(s.kind)).inc()
            batch.add()
            if s.metadata.get("signal") != "silent":
                self._silent.discard(s.source_id)
        LAST_SAMPLE.labels(kind).set(time.time())
        pending.clear()

    def run_source_once(self, source: Source | str, *, max_seconds: float | None = None,
                        stop: threading.Event | None = None,
                        on_sample: Callable[[Sample], None] | None = None) -> int:
        """Read one source once into the bus; the number of samples produced.

        Fatal errors (an unreadable file, no plugin) are recorded in the source's
        health and raised; errors the plugin survives are only recorded.
        """
        source = self._resolve(source)
        try:
            source = self.registry.effective(source)
        except NotFound:
            pass
        kind = str(source.kind)
        ctx = IngestContext(
            blobs=self.services.blobs, state=self.registry.state, settings=self.services.settings,
            stop=stop or threading.Event(), on_error=self._on_error, extras=self.extras,
            deadline=time.monotonic() + max_seconds if max_seconds else None,
        )
        batch = _HealthBatch(self.registry, source.id)
        pending: list[Sample] = []  # produced in small batches: one durable write for many feed items
        first = 0.0
        count = 0
        self.registry.set_state(source.id, "running")
        RUNNING.labels(kind).inc()
        try:
            plugin = plugin_for(source)
            live = plugin.is_live(source)  # live samples go out at once; files, pages and items in batches
            for sample in plugin.samples(source, ctx):
                if not pending:
                    first = time.monotonic()
                pending.append(sample)
                count += 1
                if live or len(pending) >= 100 or time.monotonic() - first > 0.5:
                    self._produce_batch(pending, kind, batch)
                if on_sample is not None:
                    on_sample(sample)
        except QinglangError as exc:
            self._produce_batch(pending, kind, batch)
            self._on_error(source, exc.message)
            self.registry.set_state(source.id, "error", ran=True)
            raise
        finally:
            RUNNING.labels(kind).dec()
            if pending:
                self._produce_batch(pending, kind, batch)
            batch.flush()
        state = "error" if (ctx.errors and not count) else "ok"
        self.registry.set_state(source.id, state, ran=True)
        log.info("source %s: %d samples, %d errors", source.id, count, len(ctx.errors))
        return count

    def clip(self, source_id: str, t0: float, t1: float) -> str:
        """Evidence clip of a live source read by this worker (blob ref, no re-encoding)."""
        from ingest.media import clip

        ctx = IngestContext(blobs=self.services.blobs, extras=self.extras)
        return clip(ctx, source_id, t0, t1)

    # -- the scheduler ----------------------------------------------------------
    def mode(self, source: Source, schedule: str) -> tuple[str, float | None]:
        mode, seconds = parse_schedule(schedule)
        if mode != "auto":
            return mode, seconds
        plugin = plugin_for(source)
        if plugin.is_live(source):
            return "continuous", None
        if source.kind == SourceKind.FILE:
            return "once", None
        return "interval", self.registry.effective(source).profile.recrawl_seconds

    def _guarded(self, source: Source, stop: threading.Event) -> None:
        try:
            self.run_source_once(source, stop=stop)
        except QinglangError as exc:
            log.warning("source %s failed: %s", source.id, exc.message)
        except Exception as exc:  # noqa: BLE001 - nothing crashes the worker
            log.exception("source %s crashed", source.id)
            try:
                self._on_error(source, f"unexpected {type(exc).__name__}: {exc}")
                self.registry.set_state(source.id, "error", ran=True)
            except Exception:  # noqa: BLE001
                log.exception("could not record the crash of source %s", source.id)
        finally:
            with self._lock:
                self._ended[source.id] = time.monotonic()

    def _signature(self, source: Source) -> str:
        """What a running reader was started with (profile incl. boosts, locator, options)."""
        import json

        eff = self.registry.effective(source)
        return json.dumps([eff.locator, eff.profile.model_dump(), eff.options], sort_keys=True, default=str)

    def _start(self, source: Source, global_stop: threading.Event) -> None:
        self._sigs[source.id] = self._signature(source)
        self._restart.discard(source.id)
        stop = threading.Event()
        if global_stop.is_set():
            stop.set()
        thread = threading.Thread(target=self._guarded, args=(source, stop), name=f"ingest-{source.id}", daemon=True)
        self._threads[source.id], self._stops[source.id] = thread, stop
        thread.start()

    def _running(self, source_id: str) -> bool:
        t = self._threads.get(source_id)
        return t is not None and t.is_alive()

    def tick(self, stop_event: threading.Event) -> None:
        """One scheduling pass (``run`` calls it every ``poll_seconds``)."""
        now_mono = time.monotonic()
        wanted: set[str] = set()
        health = self.registry.health()
        periodic = sum(1 for sid, t in self._threads.items() if t.is_alive() and sid not in self._live_ids())
        for source, schedule in self.registry.rows():
            wanted.add(source.id)
            try:
                mode, seconds = self.mode(source, schedule)
            except QinglangError as exc:
                self._on_error(source, exc.message)
                continue
            if self._running(source.id):
                if mode == "continuous":
                    self._check_silence(source, health.get(source.id, {}))
                    if self._signature(source) != self._sigs.get(source.id):  # boost or edit: restart
                        self._stops[source.id].set()
                        self._restart.add(source.id)
                continue
            ended = self._ended.get(source.id)
            last_run = health.get(source.id, {}).get("last_run_at")
            if mode == "continuous":
                if ended is None or now_mono - ended >= 5.0 or source.id in self._restart:
                    self._start(source, stop_event)
                    self.extras.setdefault("live_ids", set()).add(source.id)
            elif mode == "once":
                if last_run is None and ended is None and periodic < self.max_parallel:
                    self._start(source, stop_event)
                    periodic += 1
            elif mode == "interval" and periodic < self.max_parallel:
                last = datetime.fromisoformat(last_run) if last_run else None
                if last is None or (utcnow() - last).total_seconds() >= (seconds or 0):
                    if ended is None or now_mono - ended >= min(seconds or 0, 60.0):
                        self._start(source, stop_event)
                        periodic += 1
        for sid, ev in list(self._stops.items()):  # disabled or removed sources stop
            if sid not in wanted:
                ev.set()

    def _live_ids(self) -> set[str]:
        return self.extras.get("live_ids", set())

    def _check_silence(self, source: Source, health: dict[str, Any]) -> None:
        if source.id in self._silent:
            return
        last = health.get("last_sample_at")
        ref = max(datetime.fromisoformat(last), self._started) if last else self._started
        silent_for = (utcnow() - ref).total_seconds()
        if silent_for < source.profile.silent_after_seconds:
            return
        self._silent.add(source.id)
        SILENT.labels(str(source.kind)).set(len(self._silent))
        sample = Sample(
            id=make_id("smp", source.id, SampleKind.MEDIA_END.value, "silent", ref.isoformat()),
            source_id=source.id, kind=SampleKind.MEDIA_END, captured_at=utcnow(),
            metadata={"signal": "silent", "silent_seconds": round(silent_for, 1)},
        )
        try:
            self.produce(sample, str(source.kind))
            self._silent.add(source.id)
            self.registry.set_state(source.id, "silent")
            self._on_error(source, f"silent for {silent_for:.0f}s")
        except QinglangError as exc:
            log.warning("could not report silence of %s: %s", source.id, exc.message)

    def run(self, stop_event: threading.Event) -> None:
        """Schedule sources until ``stop_event`` is set; then stop every reader and return."""
        log.info("ingest worker started")
        while not stop_event.is_set():
            try:
                self.tick(stop_event)
            except Exception:  # noqa: BLE001 - a failing pass (DB down) is retried next time
                log.exception("ingest scheduling pass failed")
            stop_event.wait(self.poll_seconds)
        for ev in self._stops.values():
            ev.set()
        for t in self._threads.values():
            t.join(timeout=20)
        log.info("ingest worker stopped")
