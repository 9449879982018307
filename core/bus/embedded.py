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
  a member whose process is gone on this host loses them at once (so a restart
  after a crash or SIGKILL resumes immediately). ``close()``
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
import zlib
from pathlib import Path
from typing import Any, Iterable, Sequence

from core.bus.base import Bus, Consumer
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

    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        self.path = path
        self.lock = threading.RLock()
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'NORMAL' if synchronous == 'NORMAL' else 'FULL'}")
        except (sqlite3.Error, OSError) as exc:
            raise BusUnavailable(
                f"cannot open the embedded bus at {path}: {exc}",
                hint="check that QINGLANG_DATA_DIR (or the bus URL) points at a writable folder",
            ) from exc

    def error(self, exc: sqlite3.Error) -> BusUnavailable:
        return BusUnavailable(
            f"embedded bus {self.path} failed: {exc}",
            hint="check that the file is a bus written by qinglang, the disk space and permissions of the "
            "data dir; another process may hold a long lock",
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
        lease_seconds: float = 30.0,
        durable: bool = True,
    ) -> None:
        """``durable=False`` trades power-loss safety for speed (synchronous=NORMAL): a
        process crash still loses nothing, an OS crash may lose the last commits."""
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
        self.synchronous = "FULL" if durable else "NORMAL"
        self._conn = _Conn(self.path, self.synchronous)
        with self._conn.lock:
            try:
                self._conn.db.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                raise self._conn.error(exc) from exc
        self._rr = itertools.count()
        self._parts: dict[str, int] = {}
        self._produced = threading.Condition()  # wakes this process's consumers at once on produce

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

    def _append(self, batch: dict[str, list[tuple]]) -> None:
        """Append rows of one or more topics in one transaction."""
        batch = {t: rows for t, rows in batch.items() if rows}
        if not batch:
            return
        ts = _now_ms()

        def tx(db: sqlite3.Connection) -> None:
            for topic, rows in batch.items():
                nxt: dict[int, int] = {}
                for part in {r[0] for r in rows}:
                    cur = db.execute(
                        "SELECT MAX(off) FROM records WHERE topic = ? AND part = ?", (topic, part)
                    ).fetchone()[0]
                    nxt[part] = 0 if cur is None else cur + 1
                params = []
                for part, key, text in rows:
                    params.append((topic, part, nxt[part], key, text, ts))
                    nxt[part] += 1
                db.executemany(
                    "INSERT INTO records(topic, part, off, key, value, ts) VALUES (?, ?, ?, ?, ?, ?)", params
                )

        self._conn.write(tx)
        with self._produced:
            self._produced.notify_all()

    def wait_produced(self, timeout: float) -> None:
        """Sleep up to ``timeout`` s, waking early when this process produces (other
        processes' writes are seen by the consumers' ``data_version`` checks)."""
        with self._produced:
            self._produced.wait(timeout)

    def produce(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        self._append({str(topic): self._rows(str(topic), [(key, value)])})

    def produce_many(self, topic: str, items: Iterable[tuple[str | None, dict[str, Any]]]) -> None:
        """All items in one transaction: all durable, or none."""
        self._append({str(topic): self._rows(str(topic), items)})

    def produce_batch(self, records: Iterable[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Records of several topics in one transaction: all durable, or none."""
        by_topic: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}
        for topic, key, value in records:
            by_topic.setdefault(str(topic), []).append((key, value))
        self._append({t: self._rows(t, items) for t, items in by_topic.items()})

    # -- offsets -------------------------------------------------------------
    def end_offsets(self, topic: str) -> dict[int, int]:
        n = self.partitions(topic)
        ends = {}
        for p in range(n):  # one MAX per partition: a single index lookup each
            mx = self._conn.read("SELECT MAX(off) FROM records WHERE topic = ? AND part = ?", (topic, p))[0][0]
            ends[p] = 0 if mx is None else int(mx) + 1
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
        from core.bus.embedded_consumer import EmbeddedConsumer

        return EmbeddedConsumer(self, group, [str(t) for t in topics])

    def close(self) -> None:
        self._conn.close()
