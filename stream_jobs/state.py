"""Per-key handler state for the embedded runner (Faust keeps it in tables).

State is saved after the handler's outputs are durable and before the
offset is committed. Each saved state remembers the offset it includes, so a
record redelivered after a crash between "save" and "commit" is recognised
and skipped (its outputs were already produced): exactly-once state,
at-least-once outputs with deterministic ids.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any


class SqliteStateStore:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS handler_state (name TEXT, key TEXT, offset INTEGER, value TEXT,"
            " PRIMARY KEY (name, key))"
        )
        self._lock = threading.Lock()

    def load(self, name: str, key: str) -> tuple[dict[str, Any] | None, int]:
        with self._lock:
            row = self._conn.execute(
                "SELECT value, offset FROM handler_state WHERE name=? AND key=?", (name, key)
            ).fetchone()
        if row is None:
            return None, -1
        return json.loads(row[0]), int(row[1])

    def save(self, name: str, items: dict[str, tuple[dict[str, Any], int]]) -> None:
        if not items:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO handler_state(name, key, offset, value) VALUES (?,?,?,?)"
                    " ON CONFLICT(name, key) DO UPDATE SET offset=excluded.offset, value=excluded.value",
                    [(name, k, off, json.dumps(v, ensure_ascii=False)) for k, (v, off) in items.items()],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._conn.close()
