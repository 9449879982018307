"""A durable log on one SQLite file (WAL): the embedded bus.

Safe across threads (a lock per connection) and across OS processes on one
data dir (ingest and jobs may be separate processes): every write is one
``BEGIN IMMEDIATE`` transaction and readers never block writers (WAL).

Layout: ``topics`` (partition count), ``records`` (topic, partition, offset,
key, JSON value), ``group_offsets`` (committed offset per group/partition) and
two coordination tables for consumer groups, ``members`` and ``leases``.

- A record's partition is ``crc32(key) % partitions`` (stable across processes
  and runs); a record without key goes round-robin. Offsets grow by one per
  partition, so records of one key are read in produce order.
- Sharing work inside one group: a consumer is a *member* with a heartbeat; it
  holds a *lease* on each partition it reads. Only the lease holder reads a
  partition, so two members never process the same record. Each member claims
  up to its fair share (partitions / live members) of free partitions, and gives
  back partitions above its share only when everything it polled from them is
  committed, so a partition moves between members without redelivery. A member
  that stops heartbeating (crash, hang) loses its leases after ``lease_seconds``;
  a member whose process is gone on this host loses them at once. ``close()``
  gives leases back; uncommitted records are then read again by the next holder.
- Members of one group are expected to subscribe to the same topics.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any, Iterable, Sequence

from core.bus.base import Bus, Consumer, Record
from core.errors import BadInput, BusUnavailable, ConfigError, RecordTooLarge

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  topic TEXT NOT NULL, part INTEGER NOT NULL, off INTEGER NOT NULL,
  key TEXT, value TEXT NOT NULL, ts INTEGER NOT NULL,
  PRIMARY KEY (topic, part, off)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
  grp TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, committed INTEGER NOT NULL,
  PRIMARY KEY (grp, topic, part)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
  grp TEXT NOT NULL, member TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
  expires INTEGER NOT NULL, PRIMARY KEY (grp, member)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
  grp TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, member TEXT NOT NULL,
  PRIMARY KEY (grp, topic, part)) WITHOUT ROWID;
"""

_HOST = socket.gethostname()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def partition_for(key: str, partitions: int) -> int:
    """Stable partition of a key (same in every process and run)."""
    return zlib.crc32(key.encode("utf-8")) % partitions


class _Conn:
    """One SQLite connection guarded by a lock; sqlite3 errors become BusUnavailable."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
        except (sqlite3.Error, OSError) as exc:
            raise BusUnavailable(
                f"cannot open the embedded bus at {path}: {exc}",
                hint="check that QINGLANG_DATA_DIR (or the bus URL) points at a writable folder",
            ) from exc

    def error(self, exc: sqlite3.Error) -> BusUnavailable:
        return BusUnavailable(
            f"embedded bus {self.path} failed: {exc}",
            hint="check disk space and permissions of the data dir; another process may hold a long lock",
        )

    def write(self, fn, *args):  # type: ignore[no-untyped-def]
        """Run ``fn(db, *args)`` in one IMMEDIATE transaction."""
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(self.db, *args)
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
                self.db.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                raise self.error(exc) from exc

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self.error(exc) from exc

    def close(self) -> None:
        with self.lock:
            try:
                self.db.close()
            except sqlite3.Error:
                pass


class EmbeddedBus(Bus):
    def __init__(
        self,
        path: str,
        *,
        partitions: int = 4,
        max_record_bytes: int = 1024 * 1024,
        lease_seconds: float = 10.0,
    ) -> None:
        if not path or path == ":memory:":
            raise ConfigError(
                "the embedded bus needs a file path (it is shared between connections and processes)",
                hint="use a URL like embedded:///var/qinglang/bus.db",
            )
        self.path = str(Path(path).expanduser())
        self.url = f"embedded://{self.path}"
        self.default_partitions = int(partitions)
        self.max_record_bytes = int(max_record_bytes)
        self.lease_seconds = float(lease_seconds)
        self._conn = _Conn(self.path)
        with self._conn.lock:
            try:
                self._conn.db.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                raise self._conn.error(exc) from exc
        self._rr = itertools.count()
        self._parts: dict[str, int] = {}

    # -- topics --------------------------------------------------------------
    def ensure_topics(self, topics: Iterable[str], partitions: int = 4) -> None:
        names = [str(t) for t in topics]
        for t in names:
            if not t:
                raise BadInput("topic name is empty", hint="name topics like qinglang.hits")
        if partitions < 1:
            raise BadInput(f"partitions must be >= 1, not {partitions}", hint="use 1 or more")

        def tx(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR IGNORE INTO topics(name, partitions) VALUES (?, ?)", [(t, partitions) for t in names]
            )

        self._conn.write(tx)

    def partitions(self, topic: str) -> int:
        """Partition count of a topic (created with the default count when new)."""
        n = self._parts.get(topic)
        if n is None:
            rows = self._conn.read("SELECT partitions FROM topics WHERE name = ?", (topic,))
            if not rows:
                self.ensure_topics([topic], self.default_partitions)
                rows = self._conn.read("SELECT partitions FROM topics WHERE name = ?", (topic,))
            n = self._parts[topic] = int(rows[0][0])
        return n

    # -- producing -----------------------------------------------------------
    def _encode(self, topic: str, value: dict[str, Any]) -> str:
        if not isinstance(value, dict):
            raise BadInput(
                f"record value for {topic} must be a JSON object (dict), not {type(value).__name__}",
                hint="produce event.to_json()",
            )
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise BadInput(
                f"record value for {topic} is not JSON-serialisable: {exc}",
                hint="convert datetimes, bytes and NaN first (event.to_json() does)",
            ) from exc
        size = len(text.encode("utf-8"))
        if size > self.max_record_bytes:
            raise RecordTooLarge(
                f"record for {topic} is {size} bytes, over the limit of {self.max_record_bytes}",
                hint="put large payloads in the blob store and send the ref (claim check), "
                "or raise max_record_bytes (QINGLANG_MAX_RECORD_BYTES)",
            )
        return text

    def _rows(self, topic: str, items: Iterable[tuple[str | None, dict[str, Any]]]) -> list[tuple]:
        n = self.partitions(topic)
        rows = []
        for key, value in items:
            key = None if key is None else str(key)
            part = partition_for(key, n) if key is not None else next(self._rr) % n
            rows.append((part, key, self._encode(topic, value)))
        return rows

    def _append(self, topic: str, rows: list[tuple]) -> None:
        if not rows:
            return
        ts = _now_ms()

        def tx(db: sqlite3.Connection) -> None:
            nxt: dict[int, int] = {}
            for part, key, text in rows:
                if part not in nxt:
                    cur = db.execute(
                        "SELECT MAX(off) FROM records WHERE topic = ? AND part = ?", (topic, part)
                    ).fetchone()[0]
                    nxt[part] = 0 if cur is None else cur + 1
                db.execute(
                    "INSERT INTO records(topic, part, off, key, value, ts) VALUES (?, ?, ?, ?, ?, ?)",
                    (topic, part, nxt[part], key, text, ts),
                )
                nxt[part] += 1

        self._conn.write(tx)

    def produce(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        self._append(str(topic), self._rows(str(topic), [(key, value)]))

    def produce_many(self, topic: str, items: Iterable[tuple[str | None, dict[str, Any]]]) -> None:
        """All items in one transaction: all durable, or none."""
        self._append(str(topic), self._rows(str(topic), items))

    # -- offsets -------------------------------------------------------------
    def end_offsets(self, topic: str) -> dict[int, int]:
        n = self.partitions(topic)
        ends = {p: 0 for p in range(n)}
        for part, mx in self._conn.read(
            "SELECT part, MAX(off) FROM records WHERE topic = ? GROUP BY part", (topic,)
        ):
            ends[int(part)] = int(mx) + 1
        return ends

    def committed(self, group: str, topic: str) -> dict[int, int]:
        rows = self._conn.read(
            "SELECT part, committed FROM group_offsets WHERE grp = ? AND topic = ?", (group, topic)
        )
        return {int(p): int(c) for p, c in rows}

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        if not group:
            raise BadInput("consumer group name is empty", hint="pass a group name, e.g. 'jobs'")
        if isinstance(topics, str):
            topics = [topics]
        for t in topics:
            self.partitions(str(t))
        return EmbeddedConsumer(self, group, [str(t) for t in topics])

    def close(self) -> None:
        self._conn.close()


class EmbeddedConsumer(Consumer):
    """One member of a consumer group; see the module docstring for how members share partitions."""

    def __init__(self, bus: EmbeddedBus, group: str, topics: list[str]) -> None:
        self.bus = bus
        self.group = group
        self.topics = topics
        self.member = uuid.uuid4().hex
        self._conn = _Conn(bus.path)
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
            # Sleep until another connection commits (data_version changes) or a heartbeat is due.
            while time.monotonic() < deadline and not self._heartbeat_due():
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
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
