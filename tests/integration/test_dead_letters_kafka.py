"""Dead letters read back and replayed on a real Kafka broker (stream_jobs/dead_letters.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.events import Sample, Topic, utcnow
from core.services import Services
from core.settings import get_settings, reset_settings_cache
from qinglang.distributed import Isolated
from stream_jobs.dead_letters import read, replay
from stream_jobs.handlers import dead_letter

pytestmark = pytest.mark.kafka


def test_read_and_replay_on_kafka(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka_address: str) -> None:
    iso = Isolated(tmp_path / "var", kafka=kafka_address)
    monkeypatch.setenv("QINGLANG_DATA_DIR", iso.env["QINGLANG_DATA_DIR"])
    monkeypatch.setenv("QINGLANG_BUS", iso.env["QINGLANG_BUS"])
    reset_settings_cache()
    services = Services(get_settings())
    bus = services.bus
    try:
        samples = [Sample(id=f"smp-k{i}", source_id=f"src-{i}", kind="page", captured_at=utcnow(), text="内容")
                   for i in range(6)]
        for s in samples:  # six sources: the letters spread over the partitions
            topic, key, value = dead_letter(Topic.SAMPLES.value, s.source_id, s.to_json(), "samples", "bug")
            bus.produce(topic, key, value)
        letters = read(bus)
        assert sorted(x.value["original"]["id"] for x in letters) == [s.id for s in samples]
        assert len({x.partition for x in letters}) > 1
        report = replay(bus, letters)
        assert len(report.replayed) == 6
        with bus.consumer("check", [Topic.SAMPLES.value]) as c:
            got: list[tuple[str | None, str]] = []
            for _ in range(20):
                got += [(r.key, r.value["id"]) for r in c.poll(max_records=100, timeout=2)]
                if len(got) >= 6:
                    break
        assert sorted(got) == sorted((s.source_id, s.id) for s in samples)  # each under its source's key
    finally:
        bus.delete_prefixed_topics()  # type: ignore[attr-defined]
        services.close()
