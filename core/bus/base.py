"""Bus interface. Small on purpose: produce, consume in a group, commit.

Semantics every implementation keeps:
- records with the same key land in the same partition, in produce order;
- ``produce`` returns only after the record is durable (embedded: committed
  to SQLite; Kafka: acks=all);
- a consumer group sees each record at least once: records polled but not
  committed are delivered again to the next consumer of the group (after a
  crash, a restart, or ``close()`` without commit);
- ``commit(records)`` marks everything up to and including those records.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Iterable, Sequence


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: dict[str, Any]
    timestamp_ms: int = 0


class Consumer(abc.ABC):
    @abc.abstractmethod
    def poll(self, max_records: int = 100, timeout: float = 1.0) -> list[Record]:
        """Up to max_records new records, waiting at most timeout seconds."""

    @abc.abstractmethod
    def commit(self, records: Sequence[Record] | None = None) -> None:
        """Commit offsets of the given records (or all polled so far)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus(abc.ABC):
    url: str

    @abc.abstractmethod
    def ensure_topics(self, topics: Iterable[str], partitions: int = 4) -> None: ...

    @abc.abstractmethod
    def produce(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        """Write one record durably."""

    def produce_many(self, topic: str, items: Iterable[tuple[str | None, dict[str, Any]]]) -> None:
        for key, value in items:
            self.produce(topic, key, value)

    def produce_batch(self, records: Iterable[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Records of several topics, ``(topic, key, value)``; the embedded bus writes them in one
        transaction (all durable, or none). Order is kept per topic."""
        by_topic: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}
        for topic, key, value in records:
            by_topic.setdefault(str(topic), []).append((key, value))
        for topic, items in by_topic.items():
            self.produce_many(topic, items)

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Block until every produced record is durable."""

    @abc.abstractmethod
    def consumer(self, group: str, topics: Sequence[str]) -> Consumer: ...

    @abc.abstractmethod
    def end_offsets(self, topic: str) -> dict[int, int]:
        """Next offset per partition (for lag and progress)."""

    @abc.abstractmethod
    def committed(self, group: str, topic: str) -> dict[int, int]:
        """Committed offset per partition for a group."""

    def lag(self, group: str, topics: Sequence[str]) -> int:
        total = 0
        for t in topics:
            ends = self.end_offsets(t)
            done = self.committed(group, t)
            total += sum(max(0, end - done.get(p, 0)) for p, end in ends.items())
        return total

    def close(self) -> None:  # noqa: B027
        pass
