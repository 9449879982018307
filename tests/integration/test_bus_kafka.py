"""The bus contract against a real Kafka 4.1 broker, plus its error paths."""

from __future__ import annotations

import json

import pytest

from core.bus import open_bus
from core.bus.kafka import KafkaBus
from core.errors import BusUnavailable, RecordTooLarge
from tests.core.contracts import BusContract, unique

pytestmark = pytest.mark.kafka


class TestKafkaBusContract(BusContract):
    @pytest.fixture
    def bus_factory(self, kafka_address: str):
        opened: list[KafkaBus] = []

        def make() -> KafkaBus:
            opened.append(KafkaBus(kafka_address))
            return opened[-1]

        yield make
        for bus in opened:
            bus.close()


@pytest.fixture(scope="module", autouse=True)
def _drop_test_topics(kafka_address: str):
    yield
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_address)
    try:
        names = [t for t in admin.list_topics() if t.startswith(("contract-", "parts-", "big-"))]
        if names:
            admin.delete_topics(names)
    finally:
        admin.close()


def test_topics_get_the_partition_count_asked_for(kafka_address: str) -> None:
    bus = open_bus(f"kafka://{kafka_address}")
    try:
        topic = unique("parts")
        bus.ensure_topics([topic], partitions=3)
        assert sorted(bus.end_offsets(topic)) == [0, 1, 2]
    finally:
        bus.close()


def test_read_range_returns_one_partitions_records_raw(kafka_address: str) -> None:
    bus = KafkaBus(kafka_address)
    try:
        topic = unique("parts")
        bus.ensure_topics([topic], partitions=1)
        bus.produce_many(topic, [("k", {"i": i}) for i in range(10)])
        got = bus.read_range(topic, 0, 3, 7)
        assert [(offset, key, json.loads(value)["i"]) for offset, key, value in got] == [
            (3, b"k", 3), (4, b"k", 4), (5, b"k", 5), (6, b"k", 6)]
        assert bus.read_range(topic, 0, 10, 10) == []
        from kafka import KafkaAdminClient, TopicPartition

        admin = KafkaAdminClient(bootstrap_servers=kafka_address)
        try:
            admin.delete_records({TopicPartition(topic, 0): 6})  # as retention would
        finally:
            admin.close()
        assert [offset for offset, _, _ in bus.read_range(topic, 0, 2, 8)] == [6, 7]  # what is left
    finally:
        bus.close()


def test_oversized_record_is_refused_with_a_reason(kafka_address: str) -> None:
    bus = KafkaBus(kafka_address, max_record_bytes=1000)
    try:
        with pytest.raises(RecordTooLarge) as info:
            bus.produce(unique("big"), "src-1", {"text": "字" * 1000})
        assert "1000" in info.value.message and "blob" in info.value.hint
    finally:
        bus.close()


def test_broker_down_names_address_and_command() -> None:
    with pytest.raises(BusUnavailable) as info:
        KafkaBus("127.0.0.1:1")  # nothing listens on port 1
    assert "127.0.0.1:1" in info.value.message
    assert "qinglang services start kafka" in info.value.hint
