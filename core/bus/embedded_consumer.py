"""One member of a consumer group of the embedded bus (see core.bus.embedded).

Membership and partition leases live in the bus file (``members``, ``leases``):
a member heartbeats on poll, claims up to its fair share of free partitions,
gives back clean ones above its share, and reads only partitions it leases.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from typing import TYPE_CHECKING, Sequence

from core.bus.base import Consumer, Record
from core.bus.embedded import _HOST, _Conn, _now_ms, _pid_alive
from core.errors import BusUnavailable

if TYPE_CHECKING:
    from core.bus.embedded import EmbeddedBus


class EmbeddedConsumer(Consumer):
    """One member of a consumer group; see the module docstring for how members share partitions."""

    def __init__(self, bus: EmbeddedBus, group: str, topics: list[str]) -> None:
        self.bus = bus
        self.group = group
        self.topics = topics
        self.member = uuid.uuid4().hex
        self._conn = _Conn(bus.path, bus.synchronous)
        self._lease_ms = int(bus.lease_seconds * 1000)
        self._owned: dict[tuple[str, int], int] = {}  # partition -> next offset to read
        self._done: dict[tuple[str, int], int] = {}  # partition -> committed offset
        self._share = 0
        self._last_hb = 0.0
        self._rotate = 0
        self._closed = False
        self._version = -1
        self._heartbeat()

    # -- membership ----------------------------------------------------------
    def _heartbeat(self) -> None:
        self._conn.write(self._rebalance)
        self._last_hb = time.monotonic()

    def _rebalance(self, db: sqlite3.Connection) -> None:
        now = _now_ms()
        g = self.group
        db.execute(
            "INSERT INTO members(grp, member, host, pid, expires) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(grp, member) DO UPDATE SET expires = excluded.expires",
            (g, self.member, _HOST, os.getpid(), now + self._lease_ms),
        )
        dead = [
            m
            for m, host, pid, exp in db.execute(
                "SELECT member, host, pid, expires FROM members WHERE grp = ? AND member != ?", (g, self.member)
            )
            if exp < now or (host == _HOST and not _pid_alive(pid))
        ]
        for m in dead:
            db.execute("DELETE FROM members WHERE grp = ? AND member = ?", (g, m))
            db.execute("DELETE FROM leases WHERE grp = ? AND member = ?", (g, m))
        live = db.execute("SELECT COUNT(*) FROM members WHERE grp = ?", (g,)).fetchone()[0]
        owned: dict[tuple[str, int], int] = {}
        self._share = 0
        for topic in self.topics:
            n = db.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()[0]
            share = -(-n // max(1, live))
            self._share += share
            holders = dict(db.execute("SELECT part, member FROM leases WHERE grp = ? AND topic = ?", (g, topic)))
            mine = [p for p in range(n) if holders.get(p) == self.member]
            free = [p for p in range(n) if p not in holders]
            # Give back partitions above the fair share, but only clean ones (nothing in flight).
            while len(mine) > share:
                clean = [p for p in mine if self._owned.get((topic, p)) == self._done.get((topic, p))]
                if not clean:
                    break
                p = clean[-1]
                db.execute("DELETE FROM leases WHERE grp = ? AND topic = ? AND part = ?", (g, topic, p))
                mine.remove(p)
            for p in free[: max(0, share - len(mine))]:
                db.execute(
                    "INSERT INTO leases(grp, topic, part, member) VALUES (?, ?, ?, ?)", (g, topic, p, self.member)
                )
                mine.append(p)
            for p in mine:
                tp = (topic, p)
                if tp in self._owned:
                    owned[tp] = self._owned[tp]
                else:
                    row = db.execute(
                        "SELECT committed FROM group_offsets WHERE grp = ? AND topic = ? AND part = ?", (g, topic, p)
                    ).fetchone()
                    owned[tp] = self._done[tp] = int(row[0]) if row else 0
        for tp in list(self._done):
            if tp not in owned:
                del self._done[tp]
        self._owned = owned

    def assignment(self) -> list[tuple[str, int]]:
        """Partitions this member holds a lease on."""
        return sorted(self._owned)

    def _heartbeat_due(self) -> bool:
        age = time.monotonic() - self._last_hb
        return age > self._lease_ms / 3000 or (len(self._owned) < self._share and age > 0.5)

    def keepalive(self) -> None:
        """Heartbeat if one is due (call it while handling a long batch, so leases are kept)."""
        if self._heartbeat_due():
            self._heartbeat()

    # -- Consumer ------------------------------------------------------------
    def _fetch(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        parts = sorted(self._owned)
        if not parts:
            return out
        self._rotate = (self._rotate + 1) % len(parts)
        for topic, part in parts[self._rotate :] + parts[: self._rotate]:
            room = max_records - len(out)
            if room <= 0:
                break
            rows = self._conn.read(
                "SELECT off, key, value, ts FROM records WHERE topic = ? AND part = ? AND off >= ? "
                "ORDER BY off LIMIT ?",
                (topic, part, self._owned[(topic, part)], room),
            )
            for off, key, value, ts in rows:
                out.append(Record(topic, part, int(off), key, json.loads(value), int(ts)))
            if rows:
                self._owned[(topic, part)] = int(rows[-1][0]) + 1
        return out

    def _data_version(self) -> int:
        return int(self._conn.read("PRAGMA data_version")[0][0])

    def poll(self, max_records: int = 100, timeout: float = 1.0) -> list[Record]:
        if self._closed:
            raise BusUnavailable("poll() on a closed consumer", hint="create a new consumer with bus.consumer()")
        deadline = time.monotonic() + max(0.0, timeout)
        delay = 0.01
        while True:
            if self._heartbeat_due():
                self._heartbeat()
            self._version = self._data_version()
            records = self._fetch(max(1, max_records))
            if records or time.monotonic() >= deadline:
                return records
            # Sleep until another connection commits (data_version changes) or a heartbeat is due;
            # a produce in this process wakes the wait at once.
            while time.monotonic() < deadline and not self._heartbeat_due():
                self.bus.wait_produced(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.1)
                if self._data_version() != self._version:
                    break

    def commit(self, records: Sequence[Record] | None = None) -> None:
        if self._closed:
            raise BusUnavailable("commit() on a closed consumer", hint="commit before close()")
        if records is None:
            upto = dict(self._owned)
        else:
            upto = {}
            for r in records:
                tp = (r.topic, r.partition)
                upto[tp] = max(upto.get(tp, 0), r.offset + 1)
        upto = {tp: off for tp, off in upto.items() if off > self._done.get(tp, -1)}
        if not upto:
            return

        def tx(db: sqlite3.Connection) -> None:
            for (topic, part), off in upto.items():
                holder = db.execute(
                    "SELECT member FROM leases WHERE grp = ? AND topic = ? AND part = ?", (self.group, topic, part)
                ).fetchone()
                if not holder or holder[0] != self.member:
                    continue  # lease lost: the new holder reads these records again
                db.execute(
                    "INSERT INTO group_offsets(grp, topic, part, committed) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(grp, topic, part) DO UPDATE SET committed = MAX(committed, excluded.committed)",
                    (self.group, topic, part, off),
                )
                if (topic, part) in self._done:
                    self._done[(topic, part)] = max(self._done[(topic, part)], off)

        self._conn.write(tx)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def tx(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM leases WHERE grp = ? AND member = ?", (self.group, self.member))
            db.execute("DELETE FROM members WHERE grp = ? AND member = ?", (self.group, self.member))

        try:
            self._conn.write(tx)
        finally:
            self._conn.close()
