"""An output that Kafka would refuse (too large) becomes a dead letter; the rest of the batch goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.events import Topic
from core.settings import get_settings, reset_settings_cache
from qinglang.distributed import Isolated

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]


def test_refused_output_is_dead_lettered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         kafka_address: str, es_address: str) -> None:
    from kafka import KafkaProducer

    from stream_jobs.faust_steps import Jobs

    iso = Isolated(tmp_path / "var", kafka=kafka_address, es=es_address)
    for k, v in iso.env.items():
        monkeypatch.setenv(k, v)
    reset_settings_cache()
    jobs = Jobs(get_settings())
    try:
        huge = {"id": "txt-huge", "text": "超长" * 600_000}
        small = {"id": "txt-small", "text": "正常"}
        wire = jobs.encode([(Topic.TEXTS.value, "src", huge), (Topic.TEXTS.value, "src", small)])
        bus = jobs.bus
        assert [name for name, _, _ in wire] == [bus.name(Topic.DEAD_LETTER.value), bus.name(Topic.TEXTS.value)]
        # what the worker's producer does with the encoded outputs: send them all, wait for every ack
        producer = KafkaProducer(bootstrap_servers=kafka_address, acks="all", max_request_size=bus.max_request_bytes)
        try:
            for name, key, value in wire:
                producer.send(name, key=key, value=value).get(timeout=30)
        finally:
            producer.close()
        with jobs.bus.consumer("check", [Topic.TEXTS.value]) as c:
            got = [r.value["id"] for r in c.poll(max_records=10, timeout=10)]
        assert got == ["txt-small"]
        with jobs.bus.consumer("check", [Topic.DEAD_LETTER.value]) as c:
            dead = [r.value for r in c.poll(max_records=10, timeout=10)]
        assert len(dead) == 1 and "output refused" in dead[0]["reason"]
        assert dead[0]["original"]["id"] == "txt-huge"
    finally:
        jobs.bus.delete_prefixed_topics()  # type: ignore[attr-defined]
        jobs.close()
