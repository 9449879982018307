"""Per-day facet counts kept next to the embedded index's ``hits`` table.

``facet_counts(field, value, day, n)`` holds, for every facet field and every
UTC day, how many documents have each value (field ``""`` holds the day's
total). Upserts adjust it in the same transaction as the documents, so it is
always exact. Unfiltered searches, and searches filtered only by time, read
their facets, total and histogram from it for the whole days they cover, and
count only the partial days at the edges from ``hits``: the console's default
view stays fast at any size.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any, Sequence

from core.index.base import FACET_FIELDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS facet_counts (
  field TEXT NOT NULL, value TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (field, day, value)) WITHOUT ROWID;
"""

TOTAL = ""  # the field that holds the per-day total


def add(deltas: Counter, day: str, facets: Sequence[Any], sign: int) -> None:
    """Count one document (sign +1) or uncount it (-1)."""
    deltas[(TOTAL, TOTAL, day)] += sign
    for field, value in zip(FACET_FIELDS, facets, strict=True):
        if value is not None:
            deltas[(field, str(value), day)] += sign


def apply(db: sqlite3.Connection, deltas: Counter) -> None:
    db.executemany(
        "INSERT INTO facet_counts(field, value, day, n) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(field, day, value) DO UPDATE SET n = n + excluded.n",
        [(f, v, d, n) for (f, v, d), n in deltas.items() if n],
    )


def rebuild(db: sqlite3.Connection) -> None:
    """Recount everything from ``hits`` (for an index written before this table existed)."""
    db.execute("DELETE FROM facet_counts")
    db.execute(f"INSERT INTO facet_counts SELECT '{TOTAL}', '{TOTAL}', day, COUNT(*) FROM hits GROUP BY day")
    for f in FACET_FIELDS:
        db.execute(
            f"INSERT INTO facet_counts SELECT '{f}', {f}, day, COUNT(*) FROM hits "
            f"WHERE {f} IS NOT NULL GROUP BY {f}, day"
        )


def _merge(into: dict[str, dict[str, int]], field: str, value: Any, n: int) -> None:
    if n:
        bucket = into.setdefault(field, {})
        bucket[str(value)] = bucket.get(str(value), 0) + int(n)


def counts(
    db: sqlite3.Connection,
    day_lo: str | None,
    day_hi: str | None,
    edges: Sequence[tuple[int | None, int | None]],
    facets: bool,
    histogram: bool,
) -> tuple[int, dict[str, dict[str, int]], dict[str, int]]:
    """Total, facets and per-day counts: whole days in [day_lo, day_hi) from the summary
    (None = open end), plus each [ts_lo, ts_hi) edge range counted from ``hits``."""
    acc: dict[str, dict[str, int]] = {}
    cond, params = [], []
    if day_lo is not None:
        cond.append("day >= ?")
        params.append(day_lo)
    if day_hi is not None:
        cond.append("day < ?")
        params.append(day_hi)
    where = " AND ".join(cond) or "1"
    fields = [TOTAL, *(FACET_FIELDS if facets else ())]
    for field in fields:
        grouped = "day" if field == TOTAL else "value"
        rows = db.execute(
            f"SELECT {grouped}, SUM(n) FROM facet_counts WHERE field = ? AND {where} GROUP BY {grouped}",
            (field, *params),
        )
        for key, n in rows:
            _merge(acc, field, key, n)
    for ts_lo, ts_hi in edges:
        econd, eparams = ["1"], []
        if ts_lo is not None:
            econd.append("ts >= ?")
            eparams.append(ts_lo)
        if ts_hi is not None:
            econd.append("ts < ?")
            eparams.append(ts_hi)
        ewhere = " AND ".join(econd)
        for day, n in db.execute(f"SELECT day, COUNT(*) FROM hits WHERE {ewhere} GROUP BY day", eparams):
            _merge(acc, TOTAL, day, n)
        for f in FACET_FIELDS if facets else ():
            for value, n in db.execute(
                f"SELECT {f}, COUNT(*) FROM hits WHERE {ewhere} AND {f} IS NOT NULL GROUP BY {f}", eparams
            ):
                _merge(acc, f, value, n)
    per_day = {d: n for d, n in sorted(acc.get(TOTAL, {}).items()) if n > 0}
    total = sum(per_day.values())
    out = {
        f: {v: n for v, n in sorted(acc.get(f, {}).items(), key=lambda kv: (-kv[1], kv[0])) if n > 0}
        for f in FACET_FIELDS
    } if facets else {}
    return total, out, per_day if histogram else {}
