"""`qinglang bench pipeline`: end-to-end rate and sample-to-searchable latency, embedded and distributed.

For each mode (embedded: SQLite bus + runner + FTS5 index; distributed: Kafka +
Faust workers, one per core by default (QINGLANG_BENCH_WORKERS), + Elasticsearch) with page-text samples (every 4th plants a
violation):

- throughput: a backlog of N samples (10,000; 2,000 with --quick), timed from the first produce until every
  stage has committed everything and every hit is searchable -> samples/s;
- latency: samples produced at a fixed rate (1,000/s by default) while the
  pipeline runs; each hit's latency is the time it was first seen by a search
  minus its sample's capture time (= produce time) -> p50 / p99.

The throughput run also reads, from /proc, the CPU time each process group used (the bench
process, which is also the embedded runner; the Faust workers; Kafka; Elasticsearch) and
prints it per sample, with the rate the machine could reach if all its cores did nothing else.

Baselines measured in the same run: raw kafka-python produce (acks=all) then
consume of N records of the same size, and raw Elasticsearch bulk indexing of
N hit documents. Printed as ratios (pipeline / baseline). The distributed mode
needs `qinglang services start kafka elasticsearch`; it is skipped otherwise.
``QINGLANG_BENCH_PIPELINE_MODES=embedded`` runs the embedded mode alone (no
Kafka/Elasticsearch contact, no baselines) even when the services are up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.events import Topic

# Samples come from this many sources. The source id is the record key, so it decides the partition;
# with a handful of sources (6 at first) the hash put two thirds of the work on one of two workers.
# A province's monitoring covers hundreds of sources.
SOURCES = 50

_ENV = ("QINGLANG_DATA_DIR", "QINGLANG_BUS", "QINGLANG_INDEX", "QINGLANG_CONFIG")


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, flush=True)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


class _Mode:
    """One configured stack: its services, and how to run/stop its stream jobs."""

    def __init__(self, name: str, env: dict[str, str], work: Path) -> None:
        from core.services import Services
        from core.settings import get_settings, reset_settings_cache
        from qinglang.distributed import load_lists

        self.name, self.env, self.work = name, env, work
        for k in _ENV:
            os.environ.pop(k, None)
        os.environ.update(env)
        reset_settings_cache()
        self.settings = get_settings()
        load_lists(self.settings)
        self.services = Services(self.settings)
        self.services.bus.ensure_topics([t.value for t in Topic], partitions=self.settings.kafka_partitions)
        self._runner: Any = None
        self._threads: list[threading.Thread] = []
        self._workers: list[Any] = []
        self.workers = _workers() if name == "distributed" else 0

    def start(self) -> None:
        if self.name == "embedded":
            from stream_jobs.runner import EmbeddedRunner

            self._runner = EmbeddedRunner(self.services)
            self._threads = self._runner.start()
        else:
            from qinglang.distributed import start_worker, wait_for

            # one after the other: the first prepares the data dir, and each join is one rebalance
            bus: Any = self.services.bus  # the Kafka bus (members, group_state)
            for i in range(self.workers):
                self._workers.append(start_worker(self.env, self.work / f"worker-{i}.log"))
                wait_for(lambda i=i: len(bus.members("qinglang-jobs")) == i + 1, 120,
                         f"Faust worker {i + 1} to join the group")
            # measure after the last rebalance, not during it
            wait_for(lambda: bus.group_state("qinglang-jobs") == "Stable", 120, "the Faust group to settle")

    def idle(self) -> bool:
        from qinglang.distributed import drained

        if self.name == "embedded":
            return self._runner.lag() == 0
        return drained(self.services.bus, "qinglang-jobs")

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop_event.set()
            for t in self._threads:
                t.join(10)
            self._runner.close()
        if self._workers:
            from qinglang.distributed import stop_worker

            for worker in self._workers:
                stop_worker(worker)
        index, bus = self.services.index, self.services.bus
        if hasattr(index, "delete_all"):
            index.delete_all()
        if hasattr(bus, "delete_prefixed_topics"):
            bus.delete_prefixed_topics()
        self.services.close()


def _workers() -> int:
    """Faust workers of the distributed mode: QINGLANG_BENCH_WORKERS, else one per core (at most 4)."""
    raw = os.environ.get("QINGLANG_BENCH_WORKERS")
    return max(1, int(raw)) if raw else max(1, min(os.cpu_count() or 1, 4))


def _wait_idle(mode: _Mode, timeout: float) -> None:
    from qinglang.distributed import wait_for

    wait_for(mode.idle, timeout, f"the {mode.name} pipeline to drain", every=0.05)
    mode.services.index.refresh()


def _group_cpu(pgid: int) -> float | None:
    """CPU seconds (user + system) of the live processes in a process group; None off Linux."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ..., utime (11), stime (12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _cpu_groups(mode: _Mode) -> dict[str, list[int]]:
    """Process groups whose CPU the throughput run accounts: the stream jobs and the local services."""
    from qinglang.services_local import Elasticsearch, Kafka

    if mode.name == "embedded":
        return {}  # the stream jobs run in this process (counted as "bench process")
    groups: dict[str, list[int]] = {"faust workers": [w.pid for w in mode._workers]}
    for label, service in (("kafka", Kafka()), ("elasticsearch", Elasticsearch())):
        pid = service.status().pid
        if pid:
            groups[label] = [pid]  # started in its own session: the group id is the leader's pid
    return groups


def _throughput(mode: _Mode, n: int, tag: str) -> tuple[float, dict[str, float]]:
    """Samples/s over a backlog of n, and the CPU milliseconds per sample of each process group."""
    from qinglang.distributed import page_samples, produce_samples

    samples = page_samples(n, sources=SOURCES, tag=tag, t0=datetime.now(UTC) - timedelta(days=1))
    groups = _cpu_groups(mode)

    def cpu() -> dict[str, float]:
        own = os.times()
        out = {"bench process": own.user + own.system}
        for label, pgids in groups.items():
            got = [_group_cpu(g) for g in pgids]
            if all(v is not None for v in got):
                out[label] = sum(v for v in got if v is not None)
        return out

    before = cpu()
    t0 = time.perf_counter()
    produce_samples(mode.services.bus, samples)
    _wait_idle(mode, 600)
    rate = n / (time.perf_counter() - t0)
    after = cpu()
    per_sample = {k: round(1000 * (after[k] - before[k]) / n, 3) for k in after if k in before}
    return rate, per_sample


def _latency(mode: _Mode, rate: int, seconds: float, tag: str) -> dict[str, Any]:
    """Produce at ``rate`` samples/s for ``seconds``; poll the index for new hits every 50 ms.

    Each poll asks only for hits detected since the oldest violating sample not seen yet, and
    only for their id, sample and time, so that the poller's own load (on the index and on this
    machine's two cores) does not grow with the hits already seen.
    """
    from core.events import Sample, SampleKind
    from core.index.base import HitQuery
    from qinglang.distributed import CLEAN, VIOLATING

    index, bus = mode.services.index, mode.services.bus
    seen: dict[str, float] = {}
    waiting: dict[str, datetime] = {}  # violating sample id -> capture time, until one of its hits is seen
    lock = threading.Lock()
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            with lock:
                since = min(waiting.values(), default=datetime.now(UTC))
            try:
                res = index.search(HitQuery(since=since, size=10_000, facets=False, histogram=False,
                                            fields=["id", "sample_id", "detected_at"]))
                now = time.time()
                for d in res.hits:
                    if d["id"] not in seen:
                        seen[d["id"]] = now - datetime.fromisoformat(d["detected_at"].replace("Z", "+00:00")).timestamp()
                    with lock:
                        waiting.pop(d.get("sample_id"), None)
            except Exception:  # noqa: BLE001 - keep polling
                pass
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    total = int(rate * seconds)
    batch = max(1, rate // 20)  # 20 produce calls per second
    t_begin = time.perf_counter()
    sent = 0
    while sent < total:
        due = t_begin + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        now = datetime.now(UTC)
        items = []
        for i in range(sent, min(total, sent + batch)):
            bad = i % 4 == 0
            s = Sample(id=f"smp-{tag}{i:07d}", source_id=f"src-{i % SOURCES}", kind=SampleKind.PAGE, captured_at=now,
                       text=(VIOLATING if bad else CLEAN)[i % 3] + f" #{tag}{i}", metadata={"platform": "website"})
            if bad:
                with lock:
                    waiting[s.id] = now
            items.append((s.key(), s.to_json()))
        bus.produce_many(Topic.SAMPLES.value, items)
        sent += len(items)
    achieved = sent / (time.perf_counter() - t_begin)
    _wait_idle(mode, 600)
    time.sleep(1.5)  # let the poller see the last hits
    done.set()
    poller.join(5)
    lat = list(seen.values())
    return {"offered_rate": rate, "achieved_produce_rate": round(achieved, 1), "hits_seen": len(lat),
            "samples_unseen": len(waiting), "p50_s": _percentile(lat, 0.50), "p99_s": _percentile(lat, 0.99)}


def _raw_kafka(address: str, n: int, size: int) -> float:
    """kafka-python: produce n records (acks=all) then consume them all; records/s over both."""
    import uuid

    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=address)
    admin.create_topics([NewTopic(topic, 4, 1)])
    payload = b"x" * size
    try:
        t0 = time.perf_counter()
        producer = KafkaProducer(bootstrap_servers=address, acks="all", enable_idempotence=True, linger_ms=2)
        for i in range(n):
            producer.send(topic, key=f"src-{i % SOURCES}".encode(), value=payload)
        producer.flush()
        producer.close()
        consumer = KafkaConsumer(topic, bootstrap_servers=address, group_id=f"{topic}-g",
                                 auto_offset_reset="earliest", enable_auto_commit=False)
        got = 0
        while got < n:
            for msgs in consumer.poll(timeout_ms=1000, max_records=5000).values():
                got += len(msgs)
        consumer.commit()
        consumer.close()
        return n / (time.perf_counter() - t0)
    finally:
        admin.delete_topics([topic])
        admin.close()


def _raw_es(address: str, n: int) -> float:
    """Raw bulk indexing of n hit documents (1,000 per request), then a refresh; docs/s."""
    import uuid

    from elasticsearch import Elasticsearch

    from qinglang.distributed import VIOLATING

    es = Elasticsearch(f"http://{address}", request_timeout=60)
    name = f"bench-raw-{uuid.uuid4().hex[:8]}"
    es.indices.create(index=name, settings={"number_of_shards": 1, "number_of_replicas": 0})
    now = datetime.now(UTC).isoformat()
    try:
        t0 = time.perf_counter()
        for start in range(0, n, 1000):
            ops: list[dict[str, Any]] = []
            for i in range(start, min(n, start + 1000)):
                ops += [{"index": {"_index": name, "_id": f"h{i}"}},
                        {"id": f"h{i}", "source_id": f"src-{i % 6}", "detector": "language", "detected_at": now,
                         "text": VIOLATING[i % 3], "severity": "low"}]
            es.bulk(operations=ops)
        es.indices.refresh(index=name)
        return n / (time.perf_counter() - t0)
    finally:
        es.indices.delete(index=name)
        es.close()


def run(progress: bool = True, quick: bool = False) -> dict[str, Any]:
    from qinglang.distributed import ES, KAFKA, Isolated
    from qinglang.services_local import Elasticsearch, Kafka

    n = 2000 if quick else 10000
    seconds = 3.0 if quick else 6.0
    rate = 1000
    saved = {k: os.environ.get(k) for k in _ENV}
    work = Path(tempfile.mkdtemp(prefix="qinglang-bench-pipeline-"))
    result: dict[str, Any] = {"samples": n, "latency_rate": rate, "latency_seconds": seconds}
    try:
        wanted = [m.strip() for m in os.environ.get("QINGLANG_BENCH_PIPELINE_MODES", "embedded,distributed").split(",")]
        distributed = "distributed" in wanted and Kafka().ready() and Elasticsearch().ready()
        modes = (["embedded"] if "embedded" in wanted else []) + (["distributed"] if distributed else [])
        if not distributed:
            _say(progress, "distributed mode skipped: start it with `qinglang services start all`"
                 if "distributed" in wanted else "distributed mode skipped (QINGLANG_BENCH_PIPELINE_MODES)")
        if distributed:
            _say(progress, f"baseline: raw kafka-python produce+consume of {n} records…")
            result["raw_kafka_rps"] = round(_raw_kafka(KAFKA, n, 400), 1)
            _say(progress, f"baseline: raw Elasticsearch bulk of {n} documents…")
            result["raw_es_bulk_dps"] = round(_raw_es(ES, n), 1)
        for name in modes:
            folder = work / name
            env = {"QINGLANG_DATA_DIR": str(folder)} if name == "embedded" else Isolated(folder).env
            _say(progress, f"{name}: starting the stream jobs…")
            mode = _Mode(name, env, folder)
            try:
                mode.start()
                _throughput(mode, 8, "warm")  # wait until the jobs run (Faust start-up)
                _say(progress, f"{name}: throughput over a backlog of {n} samples…")
                rps, cpu_ms = _throughput(mode, n, "tp")
                _say(progress, f"{name}: latency at {rate} samples/s for {seconds:.0f} s…")
                lat = _latency(mode, rate, seconds, "lat")
            finally:
                mode.stop()
            result[name] = {"samples_per_s": round(rps, 1), **lat, "cpu_ms_per_sample": cpu_ms}
            if cpu_ms and mode.workers:  # all CPU the run used, spread over this machine's cores: the rate it could reach at most
                used = sum(cpu_ms.values())
                result[name]["cpu_bound_samples_per_s"] = round(1000 * (os.cpu_count() or 1) / used, 1) if used else None
            if mode.workers:
                result[name]["workers"] = mode.workers
            if distributed:
                result[name]["ratio_to_raw_kafka"] = round(rps / result["raw_kafka_rps"], 3)
                result[name]["ratio_to_raw_es_bulk"] = round(rps / result["raw_es_bulk_dps"], 3)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(work, ignore_errors=True)
    if progress:
        _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    print("\npipeline benchmark (page-text samples)")
    for key in ("raw_kafka_rps", "raw_es_bulk_dps"):
        if key in result:
            print(f"  baseline {key:18} {result[key]:>10.1f} /s")
    for name in ("embedded", "distributed"):
        r = result.get(name)
        if not r:
            continue
        p50 = f"{r['p50_s']:.3f}" if r["p50_s"] is not None else "-"
        p99 = f"{r['p99_s']:.3f}" if r["p99_s"] is not None else "-"
        label = f"{name} ({r['workers']} workers)" if r.get("workers") else name
        line = f"  {label:24} {r['samples_per_s']:>8.1f} samples/s  p50 {p50} s  p99 {p99} s"
        if "ratio_to_raw_kafka" in r:
            line += f"  x{r['ratio_to_raw_kafka']} of raw Kafka, x{r['ratio_to_raw_es_bulk']} of raw ES bulk"
        print(line)
        if r.get("cpu_ms_per_sample"):
            parts = ", ".join(f"{k} {v:.3f}" for k, v in r["cpu_ms_per_sample"].items())
            bound = (f"; all {os.cpu_count()} cores busy would allow ~{r['cpu_bound_samples_per_s']:.0f} samples/s"
                     if r.get("cpu_bound_samples_per_s") else "")
            print(f"  {'':24} CPU ms per sample: {parts}{bound}")
