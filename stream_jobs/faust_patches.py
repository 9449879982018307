"""Fixes to faust-streaming 0.15 / aiokafka 0.14 that the Faust agents rely on.

``apply()`` installs them once per process (idempotent). Each fix names the
private method it replaces; the faust-streaming pin (<0.16) keeps them valid.
If faust is upgraded, tests/integration (parity, fault and chaos tests) are the
check that these are still needed and still apply.

- Seek (``AIOKafkaConsumerThread.seek_to_committed``): after every rebalance
  faust seeks each partition to its committed offset, but aiokafka's
  ``seek_to_committed`` skips a partition whose committed offset is missing or
  0, leaving it at its old fetch position. Records fetched before the
  rebalance and dropped from the agents' buffers were never read again. Such
  partitions now go back to their first offset, and that offset is remembered
  as the partition's commit floor (see below).
- Fetch wait (``AIOKafkaConsumerThread._create_worker_consumer``): faust builds
  its consumer with ``fetch_max_wait_ms=1500``. aiokafka leaves partitions that
  still have buffered records out of the next fetch, so a fetch for the others
  (the next stage's topic while this one drains) sat on the broker for 1.5 s
  per hop. Now FETCH_MAX_WAIT_MS.
- Commit offset (``Consumer._new_offset``): the offset faust commits for a
  partition is the end of the first run of consecutive acked offsets.
  Three faults, all seen under rebalances with records in flight:

  1. It merges its "gap" ranges (offsets it believes have no record) into the
     acked list without removing duplicates. When a gap was wrong (a stale
     read offset after a rebalance, the records delivered later and acked),
     the list holds each such offset twice, every run ends at the first
     duplicate, and the commit advanced by one offset per commit interval: a
     backlog of 900 acked records took 15 minutes to commit, and the stall
     watchdog never fired because the offset kept moving.
  2. Treating a gap range as acked commits past records nobody processed
     when the gap was wrong and the records were not delivered again. Our
     topics are neither compacted nor transactional, so they have no real
     gaps: gaps are ignored.
  3. It commits when the first acked offset is one past the committed one
     (``min(acked) - committed > 1``), or anywhere when nothing was committed
     yet, skipping a record still in flight.

  The replacement commits only a run that starts exactly at the committed
  offset (or, for a partition never committed, at its first offset), with
  duplicates and offsets below it dropped. Acked offsets waiting behind one
  that never comes are recorded as a hole (``holes``), which the worker's
  watchdog mends by handling the missing records, read straight from the
  broker, and acking them (a seek did not help: faust delivered records it
  still held from before the seek and dropped the re-read ones again). Records
  the broker no longer has (deleted by retention before they were processed)
  show up as the same kind of hole; the mend logs them as lost and acks them.
"""

from __future__ import annotations

import time
from typing import Any

FETCH_MAX_WAIT_MS = 100


def commit_floor(consumer: Any) -> dict[Any, int]:
    """Per partition, the first offset of a partition that was never committed (set by the seek fix)."""
    floor: dict[Any, int] | None = getattr(consumer, "qinglang_floor", None)
    if floor is None:
        floor = {}
        consumer.qinglang_floor = floor
    return floor


def next_commit(acked: list[int], start: int | None) -> tuple[int | None, list[int]]:
    """The offset to commit and the acked offsets left, given the acked offsets and the run's start.

    ``start`` is the committed offset (the next record to process), or None when it is not known;
    then the run starts at the smallest acked offset. Duplicates and offsets below ``start`` go.
    """
    offsets = sorted(set(acked))
    if not offsets:
        return None, []
    if start is None:
        start = offsets[0]
    offsets = [o for o in offsets if o >= start]
    end = start
    for o in offsets:
        if o != end:
            break
        end += 1
    if end == start:
        return None, offsets
    return end, offsets[end - start:]


def holes(consumer: Any) -> dict[Any, float]:
    """Per partition, since when (monotonic) acked offsets wait behind one that was never acked.

    The agents ack each partition's records in offset order, so such a hole that lasts is a record
    faust dropped around a rebalance (delivered behind a stale read offset, or with an old
    generation): it will not come by itself. The worker's watchdog handles the missing records,
    read straight from the broker, when a hole is older than a few seconds.
    """
    found: dict[Any, float] | None = getattr(consumer, "qinglang_holes", None)
    if found is None:
        found = {}
        consumer.qinglang_holes = found
    return found


def hole_range(consumer: Any, tp: Any) -> tuple[int, int] | None:
    """The offsets [start, end) of a partition's hole: from the committed offset to the first acked one."""
    committed = consumer._committed_offset.get(tp)
    acked = consumer._acked.get(tp) or []
    if committed is None or not acked or min(acked) <= committed:
        return None
    return committed, min(acked)


def mark_acked(consumer: Any, tp: Any, offsets: list[int]) -> None:
    """Count offsets as acked (records handled outside faust's delivery), as ``Consumer.ack`` would."""
    index = consumer._acked_index[tp]
    for offset in offsets:
        if offset not in index:
            index.add(offset)
            consumer._acked[tp].append(offset)


def _new_offset(self: Any, tp: Any) -> int | None:
    acked: list[int] = self._acked[tp]
    if not acked:
        holes(self).pop(tp, None)
        return None
    gap = self._gap.get(tp)
    if gap:
        gap.clear()  # our topics have no gaps; a "gap" is a stale read offset (see fault 2)
    committed = self._committed_offset[tp]
    start = committed if committed is not None else commit_floor(self).get(tp)
    offset, left = next_commit(acked, start)
    if offset is None and left:
        holes(self).setdefault(tp, time.monotonic())
    else:
        holes(self).pop(tp, None)
    acked[:] = left
    index = self._acked_index[tp]
    index.clear()
    index.update(left)
    return offset


def apply() -> None:
    """Install the three fixes (idempotent)."""
    from faust.transport.consumer import Consumer
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    if getattr(AIOKafkaConsumerThread, "qinglang_patched", False):
        return
    create_consumer = AIOKafkaConsumerThread._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create_consumer(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by aiokafka when its fetcher starts
        return consumer

    async def seek_to_committed(self: Any) -> Any:
        consumer = self._ensure_consumer()
        floor = commit_floor(self.consumer)

        async def seek() -> Any:
            committed = await consumer.seek_to_committed()
            never = [tp for tp, offset in committed.items() if not offset]  # None or 0
            for tp, offset in committed.items():
                if offset:
                    floor.pop(tp, None)
            if never:
                await consumer.seek_to_beginning(*never)
                firsts = await consumer.beginning_offsets(never)
                floor.update({tp: int(firsts[tp]) for tp in never if tp in firsts})
            return committed

        return await self.call_thread(seek)

    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    AIOKafkaConsumerThread.qinglang_patched = True  # type: ignore[attr-defined]
