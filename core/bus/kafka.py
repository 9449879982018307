"""The bus on Apache Kafka (kafka-python 3.x, brokers 4.x).

- Producer: ``acks=all`` and idempotent (no duplicates from producer retries);
  the key is the source id, so the default murmur2 partitioner keeps one
  source's records in one partition, in order (the same one Java clients pick).
- ``produce`` returns once the broker acknowledged the record; ``produce_many``
  sends a batch and waits for every acknowledgement.
- Consumers belong to a group, never auto-commit, and commit exactly what the
  caller hands to ``commit`` (offset of the last record + 1 per partition).
- ``kafka://host:port?prefix=P`` prefixes every topic and group name with P
  (isolated runs on one broker: tests, benchmarks); records report the
  unprefixed topic, so callers never see it.
- Size is checked before sending: an oversized record raises ``RecordTooLarge``
  with a reason (never a silent drop in the client's buffer).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Iterable, Sequence

from core.bus.base import Bus, Consumer, Record
from core.errors import BadInput, BusUnavailable, RecordTooLarge

START_HINT = "start it with `qinglang services start kafka` (or fix the bus URL, QINGLANG_BUS)"


def _unavailable(address: str, exc: BaseException, doing: str) -> BusUnavailable:
    return BusUnavailable(f"Kafka at {address} is not reachable while {doing}: {exc}", hint=START_HINT)


def _reachable(address: str, timeout: float = 3.0) -> bool:
    """Whether any bootstrap server of ``host:port[,host:port]`` accepts a TCP connection."""
    import socket

    for server in address.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port or 9092)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


def _decode_value(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return {"_undecodable": raw[:2000].decode("utf-8", "replace"), "_reason": f"not JSON: {exc}"}
    return value if isinstance(value, dict) else {"_undecodable": value, "_reason": "not a JSON object"}


class KafkaBus(Bus):
    def __init__(
        self,
        address: str,
        *,
        partitions: int = 4,
        max_record_bytes: int = 1024 * 1024,
        client_id: str = "qinglang",
    ) -> None:
        from urllib.parse import parse_qs

        from kafka import KafkaAdminClient, KafkaProducer
        from kafka.errors import KafkaError

        address, _, query = address.strip().removeprefix("kafka://").partition("?")
        self.address = address.rstrip("/") or "127.0.0.1:9092"
        self.prefix = (parse_qs(query).get("prefix") or [""])[0]
        self.url = f"kafka://{self.address}" + (f"?prefix={self.prefix}" if self.prefix else "")
        self.default_partitions = int(partitions)
        self.max_record_bytes = int(max_record_bytes)
        self._client_id = client_id
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._meta = None  # a group-less consumer for offsets, opened on first use
        if not _reachable(self.address):
            raise BusUnavailable(f"Kafka at {self.address} is not reachable (connection refused)", hint=START_HINT)
        try:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.address, client_id=f"{client_id}-admin", request_timeout_ms=10000
            )
            self._producer = KafkaProducer(
                bootstrap_servers=self.address,
                client_id=f"{client_id}-producer",
                acks="all",
                enable_idempotence=True,
                linger_ms=2,
                retries=2**31 - 1,
                delivery_timeout_ms=120000,
                request_timeout_ms=30000,
                max_request_size=self.max_request_bytes,
                key_serializer=lambda k: None if k is None else str(k).encode("utf-8"),
            )
        except KafkaError as exc:
            raise _unavailable(self.address, exc, "connecting") from exc

    # -- topics --------------------------------------------------------------
    @property
    def max_request_bytes(self) -> int:
        """A producer request must hold one record at the limit plus its framing."""
        return max(self.max_record_bytes + 64 * 1024, 1024 * 1024)

    def name(self, topic: str) -> str:
        """The broker-side name of a topic or group (with the URL's prefix)."""
        return f"{self.prefix}{topic}"

    def ensure_topics(self, topics: Iterable[str], partitions: int = 4) -> None:
        from kafka.admin import NewTopic
        from kafka.errors import KafkaError, TopicAlreadyExistsError

        raw = [str(t) for t in topics]
        if any(not t for t in raw):
            raise BadInput("topic name is empty", hint="name topics like qinglang.hits")
        names = [self.name(t) for t in raw]
        if partitions < 1:
            raise BadInput(f"partitions must be >= 1, not {partitions}", hint="use 1 or more")
        missing = [t for t in names if t not in self._known]
        if not missing:
            return
        try:
            existing = set(self._admin.list_topics())
            new = [NewTopic(t, partitions, 1) for t in missing if t not in existing]
            if new:
                try:
                    self._admin.create_topics(new, timeout_ms=30000)
                except TopicAlreadyExistsError:
                    pass
        except KafkaError as exc:
            raise _unavailable(self.address, exc, f"creating topics {missing}") from exc
        self._known.update(missing)

    def _ensure(self, topic: str) -> None:
        if self.name(topic) not in self._known:
            self.ensure_topics([topic], self.default_partitions)

    # -- producing -----------------------------------------------------------
    def encode(self, topic: str, value: dict[str, Any]) -> bytes:
        """The record value as sent: compact UTF-8 JSON; BadInput or RecordTooLarge when it can't be."""
        if not isinstance(value, dict):
            raise BadInput(
                f"record value for {topic} must be a JSON object (dict), not {type(value).__name__}",
                hint="produce event.to_json()",
            )
        try:
            data = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise BadInput(
                f"record value for {topic} is not JSON-serialisable: {exc}",
                hint="convert datetimes, bytes and NaN first (event.to_json() does)",
            ) from exc
        if len(data) > self.max_record_bytes:
            raise RecordTooLarge(
                f"record for {topic} is {len(data)} bytes, over the limit of {self.max_record_bytes}",
                hint="put large payloads in the blob store and send the ref (claim check), "
                "or raise max_record_bytes (QINGLANG_MAX_RECORD_BYTES; the broker allows 2 MiB)",
            )
        return data

    def _wait(self, futures: list[Any], topic: str) -> None:
        from kafka.errors import KafkaError, MessageSizeTooLargeError

        for fut in futures:
            try:
                fut.get(timeout=130)
            except MessageSizeTooLargeError as exc:
                raise RecordTooLarge(
                    f"Kafka refused a record for {topic} as too large: {exc}",
                    hint="raise message.max.bytes on the broker or send a blob ref",
                ) from exc
            except KafkaError as exc:
                raise _unavailable(self.address, exc, f"writing to {topic}") from exc

    def produce(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        self.produce_many(topic, [(key, value)])

    def produce_many(self, topic: str, items: Iterable[tuple[str | None, dict[str, Any]]]) -> None:
        """Send every item, then wait until the broker acknowledged all of them (acks=all)."""
        from kafka.errors import KafkaError

        topic = str(topic)
        encoded = [(key, self.encode(topic, value)) for key, value in items]  # validate all first
        if not encoded:
            return
        self._ensure(topic)
        try:
            futures = [self._producer.send(self.name(topic), key=k, value=v) for k, v in encoded]
        except KafkaError as exc:
            raise _unavailable(self.address, exc, f"writing to {topic}") from exc
        self._producer.flush(timeout=130)
        self._wait(futures, topic)

    def flush(self) -> None:
        self._producer.flush(timeout=130)

    # -- offsets -------------------------------------------------------------
    def _meta_consumer(self):  # type: ignore[no-untyped-def]
        from kafka import KafkaConsumer

        if self._meta is None:
            self._meta = KafkaConsumer(
                bootstrap_servers=self.address, client_id=f"{self._client_id}-meta", enable_auto_commit=False
            )
        return self._meta

    def _partitions(self, topic: str) -> list[int]:
        import time

        self._ensure(topic)
        meta = self._meta_consumer()
        deadline = time.monotonic() + 30
        while True:
            parts = meta.partitions_for_topic(self.name(topic))
            if parts or time.monotonic() > deadline:
                return sorted(parts or [])
            time.sleep(0.2)
            meta.topics()  # refresh metadata

    def end_offsets(self, topic: str) -> dict[int, int]:
        from kafka import TopicPartition
        from kafka.errors import KafkaError

        try:
            with self._lock:
                tps = [TopicPartition(self.name(topic), p) for p in self._partitions(topic)]
                ends = self._meta_consumer().end_offsets(tps)
        except KafkaError as exc:
            raise _unavailable(self.address, exc, f"reading offsets of {topic}") from exc
        return {tp.partition: int(off) for tp, off in ends.items()}

    def read_range(self, topic: str, partition: int, start: int, end: int,
                   timeout: float = 30.0) -> list[tuple[int, bytes | None, bytes]]:
        """The raw records (offset, key, value) of one partition from ``start`` up to ``end`` (exclusive).

        No consumer group: nothing is committed. Used to handle records a stream consumer skipped.
        Records the broker no longer has (deleted by retention) are simply not in the result.
        """
        import time

        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError

        tp = TopicPartition(self.name(topic), partition)
        out: list[tuple[int, bytes | None, bytes]] = []
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.address, group_id=None, enable_auto_commit=False,
                                     client_id=f"{self._client_id}-range")
            try:
                consumer.assign([tp])
                first = int(consumer.beginning_offsets([tp]).get(tp) or 0)
                consumer.seek(tp, max(start, first))  # records before ``first`` are gone (retention)
                deadline = time.monotonic() + timeout
                while consumer.position(tp) < end and time.monotonic() < deadline:
                    for rec in consumer.poll(timeout_ms=500, max_records=1000).get(tp, []):
                        if start <= rec.offset < end:
                            out.append((rec.offset, rec.key, rec.value))
            finally:
                consumer.close()
        except KafkaError as exc:
            raise _unavailable(self.address, exc, f"reading {topic}[{partition}] offsets {start}-{end - 1}") from exc
        return out

    def committed(self, group: str, topic: str) -> dict[int, int]:
        from kafka.errors import KafkaError

        try:
            grp = self.name(group)
            offsets = self._admin.list_group_offsets({grp: None}).get(grp, {})  # kafka-python 3.x API
        except KafkaError as exc:
            raise _unavailable(self.address, exc, f"reading offsets of group {group}") from exc
        name = self.name(topic)
        return {tp.partition: int(om.offset) for tp, om in offsets.items() if tp.topic == name and om.offset >= 0}

    def delete_prefixed_topics(self) -> list[str]:
        """Delete every topic of this bus's URL prefix (isolated runs clean up after themselves)."""
        from kafka.errors import KafkaError

        if not self.prefix:
            raise BadInput("refusing to delete topics of a bus without a prefix", hint="use kafka://…?prefix=P")
        try:
            names = [t for t in self._admin.list_topics() if t.startswith(self.prefix)]
            if names:
                self._admin.delete_topics(names, timeout_ms=30000)
        except KafkaError as exc:
            raise _unavailable(self.address, exc, "deleting topics") from exc
        self._known.difference_update(names)
        return names

    def members(self, group: str) -> list[dict[str, Any]]:
        """Live members of a consumer group (each with its client id and host)."""
        return list(self._describe(group).get("members") or [])

    def group_state(self, group: str) -> str | None:
        """The group's state as the coordinator has it (``Stable`` once a rebalance is over), or None."""
        state = self._describe(group).get("group_state")
        return str(state) if state else None

    def _describe(self, group: str) -> dict[str, Any]:
        from kafka.errors import KafkaError

        # Faust members carry their own assignor metadata, which kafka-python cannot decode and
        # logs at length as a warning for each member; the members themselves are what we need.
        logging.getLogger("kafka.admin._groups").setLevel(logging.ERROR)
        try:
            described = self._admin.describe_groups([self.name(group)])
        except KafkaError as exc:
            raise _unavailable(self.address, exc, f"describing group {group}") from exc
        return dict(described.get(self.name(group)) or {})

    # -- consuming -----------------------------------------------------------
    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        if not group:
            raise BadInput("consumer group name is empty", hint="pass a group name, e.g. 'jobs'")
        for t in topics:
            self._ensure(str(t))
        return KafkaGroupConsumer(self, group, [str(t) for t in topics])

    def close(self) -> None:
        for obj in (self._producer, self._admin, self._meta):
            if obj is not None:
                try:
                    obj.close() if obj is not self._producer else obj.close(timeout=10)
                except Exception:  # noqa: BLE001 - closing a broken client must not raise
                    pass
        self._meta = None


class KafkaGroupConsumer(Consumer):
    def __init__(self, bus: KafkaBus, group: str, topics: list[str]) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        self.bus = bus
        self.group = group
        try:
            self._c = KafkaConsumer(
                *(bus.name(t) for t in topics),
                bootstrap_servers=bus.address,
                client_id=f"{bus._client_id}-{group}",
                group_id=bus.name(group),
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=4 * 1024 * 1024,
                session_timeout_ms=10000,
                heartbeat_interval_ms=2000,
                max_poll_interval_ms=300000,
            )
        except KafkaError as exc:
            raise _unavailable(bus.address, exc, f"joining group {group}") from exc
        self._closed = False

    def poll(self, max_records: int = 100, timeout: float = 1.0) -> list[Record]:
        from kafka.errors import KafkaError

        if self._closed:
            raise BusUnavailable("poll() on a closed consumer", hint="create a new consumer with bus.consumer()")
        try:
            batches = self._c.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except KafkaError as exc:
            raise _unavailable(self.bus.address, exc, f"polling for group {self.group}") from exc
        out: list[Record] = []
        for tp, msgs in batches.items():
            for m in msgs:
                key = None if m.key is None else m.key.decode("utf-8", "replace")
                topic = tp.topic[len(self.bus.prefix):]
                out.append(Record(topic, tp.partition, m.offset, key, _decode_value(m.value), int(m.timestamp)))
        return out

    def commit(self, records: Sequence[Record] | None = None) -> None:
        from kafka import TopicPartition
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        if self._closed:
            raise BusUnavailable("commit() on a closed consumer", hint="commit before close()")
        try:
            if records is None:
                self._c.commit()
                return
            last: dict[tuple[str, int], int] = {}
            for r in records:
                k = (self.bus.name(r.topic), r.partition)
                last[k] = max(last.get(k, -1), r.offset)
            if last:
                self._c.commit({TopicPartition(t, p): OffsetAndMetadata(o + 1, "", -1) for (t, p), o in last.items()})
        except KafkaError as exc:
            raise _unavailable(self.bus.address, exc, f"committing for group {self.group}") from exc

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._c.close(autocommit=False)
            except Exception:  # noqa: BLE001
                pass
