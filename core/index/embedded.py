"""The embedded hit index: SQLite with FTS5 over jieba tokens.

``hits`` holds one row per document (the JSON, the keyword facet columns, the
detection time as integer microseconds and its UTC day); ``hits_fts`` holds the
jieba search-mode tokens of text, matched, term and evidence.snippet, written
at upsert time (rowid = ``hits.n``). A query string is tokenized the same way;
each token becomes a quoted prefix term and the terms are ANDed, so user input
is never FTS5 syntax. Every filter column has an index ending in (ts, id), the
sort order, so newest-first pages and keyset cursors stay fast at any depth.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

from core.errors import BadInput, ConfigError, IndexUnavailable
from core.events import as_utc
from core.index import summary
from core.index.base import FACET_FIELDS, HitIndex, HitQuery, SearchResult
from core.index.tokenize import token_string, tokens

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
MAX_PAGE = 10_000

# HitQuery attribute -> column
_FILTERS = {
    "source": "source_id",
    "detector": "detector",
    "list": "list_name",
    "category": "category",
    "severity": "severity",
    "platform": "platform",
}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS hits (
  n INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ts INTEGER NOT NULL,
  day TEXT NOT NULL,
  """
    + ",\n  ".join(f"{f} TEXT" for f in FACET_FIELDS)
    + """,
  doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS hits_ts ON hits(ts, id);
CREATE INDEX IF NOT EXISTS hits_day ON hits(day);
"""
    + "\n".join(f"CREATE INDEX IF NOT EXISTS hits_{f} ON hits({f}, ts, id);" for f in FACET_FIELDS)
    + """
CREATE VIRTUAL TABLE IF NOT EXISTS hits_fts USING fts5(tokens);
"""
    + summary.SCHEMA
)


def to_utc(value: Any, what: str = "detected_at") -> datetime:
    """A datetime or ISO-8601 string as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise BadInput(f"{what} {value!r} is not an ISO-8601 datetime", hint="e.g. 2024-05-01T12:00:00Z") from exc
    if not isinstance(value, datetime):
        raise BadInput(f"{what} is missing or not a datetime: {value!r}", hint="give an ISO-8601 datetime")
    return as_utc(value)


def _micros(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def match_expression(q: str) -> str | None:
    """FTS5 MATCH text for a user query: its jieba tokens as quoted prefix terms, ANDed.

    Returns "" for an empty query (match everything) and None when the query has
    text but no searchable token (punctuation only: matches nothing).
    """
    if not q or not q.strip():
        return ""
    toks = tokens(q)
    if not toks:
        return None
    return " AND ".join('"' + t.replace('"', '""') + '"*' for t in toks)


def _day_split(
    since: datetime | None, until: datetime | None
) -> tuple[str | None, str | None, list[tuple[int | None, int | None]]] | None:
    """Whole UTC days [day_lo, day_hi) inside [since, until) and the partial edges as
    microsecond ranges; None when the range holds no whole day."""
    start = end = None
    if since is not None:
        start = since.replace(hour=0, minute=0, second=0, microsecond=0)
        if start < since:
            start += timedelta(days=1)
    if until is not None:
        end = until.replace(hour=0, minute=0, second=0, microsecond=0)
    if start is not None and end is not None and start >= end:
        return None
    edges: list[tuple[int | None, int | None]] = []
    if since is not None and start is not None and since < start:
        edges.append((_micros(since), _micros(start)))
    if until is not None and end is not None and end < until:
        edges.append((_micros(end), _micros(until)))
    return (
        start.date().isoformat() if start is not None else None,
        end.date().isoformat() if end is not None else None,
        edges,
    )


def encode_cursor(ts: int, hit_id: str) -> str:
    raw = json.dumps([ts, hit_id], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, hit_id = json.loads(raw)
        if not isinstance(ts, int) or not isinstance(hit_id, str):
            raise ValueError("wrong types")
        return ts, hit_id
    except (ValueError, TypeError) as exc:
        raise BadInput(
            f"bad search cursor {cursor[:40]!r}", hint="pass back the cursor of the previous page unchanged"
        ) from exc


def _searchable_text(doc: dict[str, Any]) -> str:
    evidence = doc.get("evidence")
    if not isinstance(evidence, dict):
        evidence = {}
    parts = [doc.get("text"), doc.get("matched"), doc.get("term"), evidence.get("snippet")]
    return token_string(*(p for p in parts if isinstance(p, str)))


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _keyword(value: Any) -> str | None:
    return None if value is None else str(value)


class EmbeddedIndex(HitIndex):
    def __init__(self, path: str) -> None:
        if not path or path == ":memory:":
            raise ConfigError(
                "the embedded index needs a file path", hint="use a URL like embedded:///var/qinglang/index.db"
            )
        self.path = str(Path(path).expanduser())
        self.url = f"embedded://{self.path}"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder of index {self.path}: {exc.strerror}",
                hint="set QINGLANG_DATA_DIR to a writable folder",
            ) from exc
        self._run(self._create)

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            had = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'facet_counts'").fetchone()
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            if not had:
                summary.rebuild(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- connections -----------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-65536")
            db.execute("PRAGMA mmap_size=1073741824")
            db.execute("CREATE TEMP TABLE IF NOT EXISTS sel (n INTEGER PRIMARY KEY)")
            db.execute("CREATE TEMP TABLE IF NOT EXISTS fts (n INTEGER PRIMARY KEY)")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return fn(self._db(), *args)
        except sqlite3.Error as exc:
            raise IndexUnavailable(
                f"embedded index {self.path} failed: {exc}",
                hint="check that the file is an index written by qinglang (move a damaged one away and re-index), "
                "and the disk space and permissions of the data dir",
            ) from exc

    # -- writing -----------------------------------------------------------------
    @staticmethod
    def _row(doc: dict[str, Any]) -> tuple[Any, ...]:
        if not isinstance(doc, dict) or not doc.get("id"):
            raise BadInput("a hit document must be a dict with an 'id'", hint="index Hit.to_json() dicts")
        dt = to_utc(doc.get("detected_at"))
        facets = tuple(_keyword(doc.get(f)) for f in FACET_FIELDS)
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=_json_default)
        return (str(doc["id"]), _micros(dt), dt.date().isoformat(), *facets, text)

    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        rows = [(self._row(d), _searchable_text(d)) for d in docs]
        if not rows:
            return 0
        cols = ("n", "id", "ts", "day", *FACET_FIELDS, "doc")
        insert = f"INSERT INTO hits({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        update = f"UPDATE hits SET {', '.join(c + ' = ?' for c in cols[2:])} WHERE n = ?"
        latest = {row[0]: (row, toks) for row, toks in rows}  # a batch may repeat an id: the last one wins
        width = len(FACET_FIELDS)

        def tx(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                ids = list(latest)
                found: dict[str, tuple[Any, ...]] = {}
                for i in range(0, len(ids), 500):
                    chunk = ids[i : i + 500]
                    for r in db.execute(
                        f"SELECT id, n, day, {', '.join(FACET_FIELDS)} FROM hits "
                        f"WHERE id IN ({', '.join('?' * len(chunk))})",
                        chunk,
                    ):
                        found[r[0]] = r[1:]
                nxt = (db.execute("SELECT MAX(n) FROM hits").fetchone()[0] or 0) + 1
                deltas: Counter = Counter()
                inserts, updates, stale, fts = [], [], [], []
                for hit_id, (row, toks) in latest.items():
                    summary.add(deltas, row[2], row[3 : 3 + width], +1)
                    old = found.get(hit_id)
                    if old:
                        n = old[0]
                        summary.add(deltas, old[1], old[2:], -1)
                        updates.append((*row[1:], n))
                        stale.append((n,))
                    else:
                        n, nxt = nxt, nxt + 1
                        inserts.append((n, *row))
                    fts.append((n, toks))
                db.executemany(update, updates)
                db.executemany("DELETE FROM hits_fts WHERE rowid = ?", stale)
                db.executemany(insert, inserts)
                db.executemany("INSERT INTO hits_fts(rowid, tokens) VALUES (?, ?)", fts)
                summary.apply(db, deltas)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return len(rows)

        return self._run(tx)

    def get(self, hit_id: str) -> dict[str, Any] | None:
        row = self._run(lambda db: db.execute("SELECT doc FROM hits WHERE id = ?", (hit_id,)).fetchone())
        return json.loads(row[0]) if row else None

    def count(self) -> int:
        return int(self._run(lambda db: db.execute("SELECT COUNT(*) FROM hits").fetchone()[0]))

    # -- searching -----------------------------------------------------------------
    @staticmethod
    def _filters(query: HitQuery) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if query.since is not None:
            where.append("ts >= ?")
            params.append(_micros(to_utc(query.since, "since")))
        if query.until is not None:
            where.append("ts < ?")
            params.append(_micros(to_utc(query.until, "until")))
        for attr, col in _FILTERS.items():
            values = [str(v) for v in (getattr(query, attr) or []) if v is not None and str(v) != ""]
            if values:
                where.append(f"{col} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        return where, params

    def search(self, query: HitQuery) -> SearchResult:
        size = int(query.size)
        if size < 1 or size > MAX_PAGE:
            raise BadInput(f"page size {size} is out of range", hint=f"use 1 to {MAX_PAGE}; page on with the cursor")
        after = decode_cursor(query.cursor) if query.cursor else None
        expr = match_expression(query.q or "")
        if expr is None:
            return SearchResult(hits=[], total=0)
        where, params = self._filters(query)
        split = None
        if not expr and not any(getattr(query, attr) for attr in _FILTERS):
            since = to_utc(query.since, "since") if query.since is not None else None
            until = to_utc(query.until, "until") if query.until is not None else None
            split = _day_split(since, until)
        return self._run(self._search, query, size, after, expr, where, params, split)

    def _search(
        self,
        db: sqlite3.Connection,
        query: HitQuery,
        size: int,
        after: tuple[int, str] | None,
        expr: str,
        where: list[str],
        params: list[Any],
        split: tuple[str | None, str | None, list[tuple[int | None, int | None]]] | None,
    ) -> SearchResult:
        db.execute("BEGIN")  # one snapshot for the page, the total and the facets
        src: str | None
        try:
            cond = " AND ".join(where) or "1"
            if split is not None:
                # No text, no keyword filter: whole days come from the per-day summary.
                total, facets, per_day = summary.counts(db, *split, query.facets, query.histogram)
                src, page_cond, page_params = None, cond, list(params)
            else:
                # Materialise the filtered set once (FTS matches first, then the filters on
                # those rows); page, total, facets and histogram all read from it.
                db.execute("DELETE FROM temp.sel")
                src = "sel"
                if expr:
                    db.execute("DELETE FROM temp.fts")
                    db.execute("INSERT INTO temp.fts(n) SELECT rowid FROM hits_fts WHERE hits_fts MATCH ?", (expr,))
                    db.execute(
                        f"INSERT INTO temp.sel(n) SELECT h.n FROM temp.fts f CROSS JOIN hits h ON h.n = f.n "
                        f"WHERE {cond}",
                        params,
                    )
                else:
                    # Filters only: one grouped scan gives total, facets and days together.
                    total, facets, per_day = self._grouped_counts(db, cond, params, query)
                    src = None
                if src is None:
                    page_cond, page_params = cond, list(params)
                else:
                    src, page_cond, page_params = "temp.sel s CROSS JOIN hits h ON h.n = s.n", "h.n IN temp.sel", []
                    total = db.execute("SELECT COUNT(*) FROM temp.sel").fetchone()[0]
                    facets, per_day = self._counts(db, src, query)
            if after is not None:
                page_cond += " AND (ts, id) < (?, ?)"
                page_params += [after[0], after[1]]
            rows = db.execute(
                f"SELECT doc, ts, id FROM hits h WHERE {page_cond} ORDER BY ts DESC, id DESC LIMIT ?",
                (*page_params, size + 1),
            ).fetchall()
        finally:
            db.execute("COMMIT")
        more = len(rows) > size
        rows = rows[:size]
        docs = [json.loads(r[0]) for r in rows]
        if query.fields is not None:
            keep = set(query.fields)
            docs = [{k: v for k, v in d.items() if k in keep} for d in docs]
        return SearchResult(
            hits=docs,
            total=int(total),
            facets=facets,
            per_day=per_day,
            cursor=encode_cursor(rows[-1][1], rows[-1][2]) if more and rows else None,
        )

    @staticmethod
    def _grouped_counts(db: sqlite3.Connection, cond: str, params: list[Any], query: HitQuery) -> tuple[int, dict, dict]:
        cols = list(FACET_FIELDS) if query.facets else []
        group = ", ".join(cols + ["day"])
        facet_acc: dict[str, dict[str, int]] = {f: {} for f in cols}
        per_day: dict[str, int] = {}
        total = 0
        for row in db.execute(f"SELECT {group}, COUNT(*) FROM hits WHERE {cond} GROUP BY {group}", params):
            n = int(row[-1])
            total += n
            for f, value in zip(cols, row, strict=False):
                if value is not None:
                    acc = facet_acc[f]
                    acc[str(value)] = acc.get(str(value), 0) + n
            per_day[str(row[len(cols)])] = per_day.get(str(row[len(cols)]), 0) + n
        facets = {f: dict(sorted(acc.items(), key=lambda kv: (-kv[1], kv[0]))) for f, acc in facet_acc.items()}
        return total, facets, (dict(sorted(per_day.items())) if query.histogram else {})

    @staticmethod
    def _counts(db: sqlite3.Connection, src: str, query: HitQuery) -> tuple[dict, dict]:
        facets: dict[str, dict[str, int]] = {}
        if query.facets:
            for f in FACET_FIELDS:
                got = db.execute(f"SELECT h.{f}, COUNT(*) FROM {src} WHERE h.{f} IS NOT NULL GROUP BY h.{f}")
                facets[f] = {str(k): int(c) for k, c in sorted(got, key=lambda kv: (-kv[1], kv[0]))}
        per_day: dict[str, int] = {}
        if query.histogram:
            got = db.execute(f"SELECT h.day, COUNT(*) FROM {src} GROUP BY h.day ORDER BY h.day")
            per_day = {str(d): int(c) for d, c in got}
        return facets, per_day

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
