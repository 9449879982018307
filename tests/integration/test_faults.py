"""Fault tests of the distributed pipeline. Each ends with every planted violation indexed exactly once
(the same hit ids as the embedded stack gives for the same samples, and no duplicate documents).

- a Faust worker killed with SIGKILL mid-stream, then started again;
- the Kafka broker restarted mid-stream;
- Elasticsearch stopped for 30 s mid-stream (the sink backs off, the backlog drains).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Iterator

import pytest

from core.events import Topic
from core.services import Services
from core.settings import get_settings, reset_settings_cache
from qinglang import services_local
from qinglang.distributed import (
    Isolated,
    drained,
    load_lists,
    page_samples,
    produce_samples,
    start_worker,
    stop_worker,
    wait_for,
)
from stream_jobs.faust_app import APP_ID

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]

N = 240  # samples per half
CHAOS_ROUNDS, CHAOS_SLICE = 4, 1500


@pytest.fixture(scope="module")
def samples():
    return page_samples(2 * N, tag="f")


@pytest.fixture(scope="module")
def expected_ids(samples, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Hit ids of the embedded stack for the same samples (the reference)."""
    return _embedded_ids(samples, tmp_path_factory)


@pytest.fixture(scope="module")
def many_samples():
    return page_samples(CHAOS_ROUNDS * CHAOS_SLICE, tag="c")


@pytest.fixture(scope="module")
def many_expected_ids(many_samples, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return _embedded_ids(many_samples, tmp_path_factory)


def _embedded_ids(samples, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    from stream_jobs.runner import run_until_idle

    mp = pytest.MonkeyPatch()
    for name in ("QINGLANG_BUS", "QINGLANG_INDEX", "QINGLANG_CONFIG"):
        mp.delenv(name, raising=False)
    mp.setenv("QINGLANG_DATA_DIR", str(tmp_path_factory.mktemp("reference")))
    reset_settings_cache()
    try:
        settings = get_settings()
        load_lists(settings)
        services = Services(settings)
        try:
            produce_samples(services.bus, samples)
            run_until_idle(services)
            services.index.refresh()
            ids = services.index.ids()
        finally:
            services.close()
    finally:
        mp.undo()
        reset_settings_cache()
    assert ids, "the embedded stack found no hit in the planted samples"
    return ids


class Run:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka: str, es: str) -> None:
        self.iso = Isolated(tmp_path / "data", kafka=kafka, es=es)
        monkeypatch.delenv("QINGLANG_CONFIG", raising=False)
        for k, v in self.iso.env.items():
            monkeypatch.setenv(k, v)
        reset_settings_cache()
        settings = get_settings()
        load_lists(settings)
        self.services = Services(settings)
        self.logs = tmp_path
        self.workers: list = []

    def worker(self):
        self.workers.append(start_worker(self.iso.env, self.logs / f"worker-{len(self.workers)}.log"))
        return self.workers[-1]

    def progressed(self) -> bool:
        return sum(self.services.bus.committed(APP_ID, Topic.HITS.value).values()) > 0

    def finish(self, expected: set[str], timeout: float = 180) -> None:
        try:
            wait_for(lambda: drained(self.services.bus, APP_ID), timeout, "the pipeline to drain")
        except TimeoutError as exc:
            bus = self.services.bus
            where = {t.value: {"end": bus.end_offsets(t.value), "committed": bus.committed(APP_ID, t.value)}
                     for t in (Topic.SAMPLES, Topic.TEXTS, Topic.HITS)}
            for w in self.workers:  # mode (under faust) dumps its threads and tasks to the log on SIGUSR1
                if w.poll() is None:
                    w.send_signal(signal.SIGUSR1)
            time.sleep(2)
            raise AssertionError(f"{exc}; offsets: {where}; worker logs in {self.logs}") from None
        index = self.services.index
        index.refresh()
        got = index.ids()
        assert got == expected
        assert index.count() == len(expected), "a hit was indexed more than once"

    def close(self) -> None:
        for w in self.workers:
            stop_worker(w)
        try:
            self.services.index.delete_all()  # type: ignore[attr-defined]
            self.services.bus.delete_prefixed_topics()  # type: ignore[attr-defined]
        finally:
            self.services.close()


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka_address: str, es_address: str) -> Iterator[Run]:
    r = Run(tmp_path, monkeypatch, kafka_address, es_address)
    yield r
    r.close()


def test_sigkill_worker_mid_stream_then_restart(run: Run, samples, expected_ids) -> None:
    produce_samples(run.services.bus, samples[:N])
    first = run.worker()
    wait_for(run.progressed, 90, "the first hits to be committed")
    stop_worker(first, signal.SIGKILL)
    produce_samples(run.services.bus, samples[N:])
    run.worker()
    run.finish(expected_ids)


def test_kafka_broker_restart_mid_stream(run: Run, samples, expected_ids) -> None:
    kafka = services_local.Kafka()
    if kafka.status().pid is None:
        pytest.skip("the broker was not started by `qinglang services start kafka`, so this test cannot restart it")
    produce_samples(run.services.bus, samples[:N])
    run.worker()
    wait_for(run.progressed, 90, "the first hits to be committed")
    kafka.stop()
    time.sleep(3)
    kafka.start()
    produce_samples(run.services.bus, samples[N:])
    run.finish(expected_ids)


def test_elasticsearch_down_for_30_seconds(run: Run, samples, expected_ids) -> None:
    es = services_local.Elasticsearch()
    if es.status().pid is None:
        pytest.skip("Elasticsearch was not started by `qinglang services start`, so this test cannot stop it")
    produce_samples(run.services.bus, samples[:N])
    run.worker()
    wait_for(run.progressed, 90, "the first hits to be committed")
    es.stop()
    produce_samples(run.services.bus, samples[N:])  # the backlog builds while the cluster is down
    time.sleep(30)
    es.start()
    run.finish(expected_ids)


def test_two_workers_killed_and_replaced_while_records_flow(run: Run, many_samples, many_expected_ids) -> None:
    """Rebalances while both workers hold fetched, unprocessed records: each round produces a slice,
    kills one of two workers (SIGKILL, or SIGTERM every other round) and starts a new one."""
    live = [run.worker()]
    wait_for(lambda: len(run.services.bus.members(APP_ID)) == 1, 90, "the first worker to join")
    live.append(run.worker())
    for i in range(CHAOS_ROUNDS):
        produce_samples(run.services.bus, many_samples[i * CHAOS_SLICE:(i + 1) * CHAOS_SLICE])
        time.sleep(1.5)  # let both take records in
        victim = live.pop(i % len(live))
        stop_worker(victim, signal.SIGKILL if i % 2 == 0 else signal.SIGTERM)
        live.append(run.worker())
    run.finish(many_expected_ids, timeout=240)
