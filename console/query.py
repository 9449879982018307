"""Turning request parameters into a ``HitQuery`` (shared by the API, the pages and the export)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from typing import Iterable

from core.errors import BadInput
from core.events import as_utc
from core.index.base import HitQuery

DISPLAY_OFFSET = timezone(timedelta(hours=8))  # calendar days are Beijing days
MULTI = ("source", "detector", "list", "category", "severity", "platform")


def split_values(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        for part in str(v).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def parse_when(value: str | None, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` is a Beijing calendar day (``end``: up to the end of it);
    an ISO datetime without an offset is UTC."""
    if value is None or not str(value).strip():
        return None
    raw = str(value).strip()
    try:
        if len(raw) == 10:
            day = datetime.fromisoformat(raw).date()
            start = datetime.combine(day, time(0), tzinfo=DISPLAY_OFFSET)
            return (start + timedelta(days=1) if end else start).astimezone(UTC)
        if len(raw) == 16 and "T" in raw:  # <input type=datetime-local>: Beijing wall clock
            return datetime.fromisoformat(raw).replace(tzinfo=DISPLAY_OFFSET).astimezone(UTC)
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(f"{raw!r} is not a date or ISO-8601 datetime",
                       hint="use 2026-05-01 or 2026-05-01T08:00:00Z") from exc
    return as_utc(dt)


def build_query(*, q: str = "", since: str | None = None, until: str | None = None,
                size: int = 50, cursor: str | None = None, facets: bool = True,
                histogram: bool = True, **multi: Iterable[str] | str | None) -> HitQuery:
    unknown = set(multi) - set(MULTI)
    if unknown:
        raise BadInput(f"unknown filter {sorted(unknown)}", hint=f"filters are: {', '.join(MULTI)}")
    start, stop = parse_when(since), parse_when(until, end=True)
    if start and stop and stop <= start:
        raise BadInput("'until' is not after 'since'", hint="swap the two dates")
    return HitQuery(q=(q or "").strip()[:500], since=start, until=stop, size=size, cursor=cursor or None,
                    facets=facets, histogram=histogram,
                    **{k: split_values(multi.get(k)) for k in MULTI})
