"""`qinglang search`: the analyst's query over the hit index (embedded or Elasticsearch)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table

from core.events import as_utc
from core.index.base import FACET_FIELDS, HitIndex, HitQuery, SearchResult

TIME_FORMATS = "an ISO-8601 date (2024-05-01), datetime (2024-05-01T08:00:00Z, 2024-05-01 08:00+08:00) or a relative age like 30m, 24h, 7d, 2w"
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PAGE = 500


def parse_when(value: str, now: datetime | None = None) -> datetime:
    """``7d`` / ``24h`` (that long before now), an ISO date (midnight UTC) or datetime (naive = UTC)."""
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(value)
    if m:
        return now - timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time; use {TIME_FORMATS}") from None
    return as_utc(when)


def _when_option(value: Optional[str]) -> Optional[str]:
    if value is not None:
        parse_when(value)  # fail early with a usage error naming the formats
    return value


def _hits(index: HitIndex, query: HitQuery, limit: int | None) -> Iterator[dict[str, Any]]:
    """Documents newest first, paged with the cursor; ``limit=None`` streams every match."""
    sent = 0
    q = HitQuery(**{**query.__dict__, "facets": False, "histogram": False})
    while True:
        q.size = _PAGE if limit is None else max(1, min(_PAGE, limit - sent))
        res = index.search(q)
        for doc in res.hits:
            yield doc
            sent += 1
            if limit is not None and sent >= limit:
                return
        if not res.cursor or not res.hits:
            return
        q.cursor = res.cursor


def _cell(value: Any, width: int = 40) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(console: Console, docs: list[dict[str, Any]], summary: SearchResult) -> None:
    table = Table(title=f"{summary.total} hits (showing {len(docs)})", show_lines=False)
    for col in ("detected_at", "source", "detector", "severity", "list / term", "evidence"):
        table.add_column(col, overflow="fold")
    for doc in docs:
        evidence = doc.get("evidence") or {}
        table.add_row(
            _cell(doc.get("detected_at"), 25),
            _cell(doc.get("source_id"), 24),
            _cell(doc.get("detector"), 12),
            _cell(doc.get("severity"), 9),
            _cell(" / ".join(str(v) for v in (doc.get("list_name"), doc.get("term")) if v), 24),
            _cell(evidence.get("snippet") or doc.get("text"), 48),
        )
    console.print(table)
    for field in FACET_FIELDS:
        counts = summary.facets.get(field) or {}
        if counts:
            top = ", ".join(f"{k} {v}" for k, v in list(counts.items())[:6])
            console.print(f"[bold]{field}[/]: {top}")
    if summary.per_day:
        console.print("[bold]per day[/]: " + ", ".join(f"{d} {n}" for d, n in sorted(summary.per_day.items())))


def search(
    q: Annotated[str, typer.Argument(help="Full-text query (Chinese is tokenized with jieba); empty = everything")] = "",
    since: Annotated[
        Optional[str], typer.Option(help="Hits detected at or after: ISO date/datetime or 7d, 24h", callback=_when_option)
    ] = None,
    until: Annotated[
        Optional[str], typer.Option(help="Hits detected before: ISO date/datetime or 7d, 24h", callback=_when_option)
    ] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Source id (repeat for several)")] = None,
    detector: Annotated[Optional[list[str]], typer.Option("--detector", help="Detector name (repeatable)")] = None,
    list_name: Annotated[Optional[list[str]], typer.Option("--list", help="Negative list name (repeatable)")] = None,
    category: Annotated[Optional[list[str]], typer.Option("--category", help="Category (repeatable)")] = None,
    severity: Annotated[Optional[list[str]], typer.Option("--severity", help="Severity (repeatable)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many hits")] = 50,
    all_: Annotated[bool, typer.Option("--all", help="Every matching hit (pages through the index)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit document, newest first")] = False,
) -> None:
    """Search the hit index by text, time, source, detector, list, category and severity.

    Filters of one kind are ORed, different kinds ANDed; results are newest first.

    Example:

        qinglang search 赌博 --since 7d --severity high --json
    """
    from core.services import Services
    from core.settings import get_settings

    query = HitQuery(
        q=q,
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
        source=list(source or []),
        detector=list(detector or []),
        list=list(list_name or []),
        category=list(category or []),
        severity=list(severity or []),
    )
    services = Services(get_settings())
    try:
        index = services.index
        cap = None if all_ else limit
        if as_json:
            for doc in _hits(index, query, cap):
                typer.echo(json.dumps(doc, ensure_ascii=False))
            return
        summary = index.search(HitQuery(**{**query.__dict__, "size": 1}))
        console = Console()
        _print_table(console, list(_hits(index, query, cap)), summary)
    finally:
        services.close()
