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
from tests.integration.markers import FAUST_LOSS

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]

N = 240  # samples per half


@pytest.fixture(scope="module")
def samples():
    return page_samples(2 * N, tag="f")


@pytest.fixture(scope="module")
def expected_ids(samples, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Hit ids of the embedded stack for the same samples (the reference)."""
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
        wait_for(lambda: drained(self.services.bus, APP_ID), timeout, "the pipeline to drain")
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


@FAUST_LOSS
def test_sigkill_worker_mid_stream_then_restart(run: Run, samples, expected_ids) -> None:
    produce_samples(run.services.bus, samples[:N])
    first = run.worker()
    wait_for(run.progressed, 90, "the first hits to be committed")
    stop_worker(first, signal.SIGKILL)
    produce_samples(run.services.bus, samples[N:])
    run.worker()
    run.finish(expected_ids)


@FAUST_LOSS
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


@FAUST_LOSS
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
