"""Trends and reports: hits by platform, category and day; top terms; the weekly report."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from console.auth import require_roles
from console.deps import Role, ServicesDep
from console.query import DISPLAY_OFFSET
from console.routers.alerts import alert_store
from console.templating import render
from console.users import User
from core.errors import BadInput
from core.index.base import HitQuery
from core.services import Services

router = APIRouter(tags=["reports"])
ReporterDep = Annotated[User, Depends(require_roles(Role.ANALYST, Role.SUPERVISOR))]


def period(since: str | None, until: str | None, default_days: int = 30) -> tuple[datetime, datetime]:
    """[start, end) in UTC from Beijing calendar dates (``until`` inclusive)."""
    try:
        end_day = date.fromisoformat(until) if until else datetime.now(DISPLAY_OFFSET).date()
        start_day = date.fromisoformat(since) if since else end_day - timedelta(days=default_days - 1)
    except ValueError as exc:
        raise BadInput("dates must look like 2026-05-01", hint="use YYYY-MM-DD") from exc
    if start_day > end_day:
        raise BadInput("the period starts after it ends", hint="swap since and until")
    if (end_day - start_day).days > 3660:
        raise BadInput("the period is longer than ten years", hint="pick a shorter period")
    start = datetime.combine(start_day, time(0), tzinfo=DISPLAY_OFFSET).astimezone(UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=DISPLAY_OFFSET).astimezone(UTC)
    return start, end


def trends(svc: Services, start: datetime, end: datetime, top: int = 20) -> dict[str, Any]:
    res = svc.index.search(HitQuery(since=start, until=end, size=1, facets=True, histogram=True))
    day = start.astimezone(DISPLAY_OFFSET).date()
    # The index counts per UTC day; fill every day of the period so gaps show as zero.
    per_day: dict[str, int] = {}
    while datetime.combine(day, time(0), tzinfo=DISPLAY_OFFSET) < end:
        per_day[day.isoformat()] = res.per_day.get(day.isoformat(), 0)
        day += timedelta(days=1)
    alerts, _ = alert_store(svc).list(since=start, limit=1000)
    terms: Counter[str] = Counter()
    states: Counter[str] = Counter()
    for a in alerts:
        if a.last_seen < end:
            states[str(a.state)] += 1
            if a.term:
                terms[a.term] += a.count
    return {
        "since": start.isoformat(), "until": end.isoformat(), "total": res.total,
        "by_platform": res.facets.get("platform", {}), "by_category": res.facets.get("category", {}),
        "by_detector": res.facets.get("detector", {}), "by_severity": res.facets.get("severity", {}),
        "by_source": dict(list(res.facets.get("source_id", {}).items())[:top]),
        "per_day": per_day,
        "top_terms": [{"term": t, "count": n} for t, n in terms.most_common(top)],
        "alerts_by_state": dict(states),
    }


@router.get("/api/reports/trends", summary="Hits by platform, category and day; top terms")
def trends_api(svc: ServicesDep, user: ReporterDep,
               since: Annotated[str | None, Query(description="first Beijing day, YYYY-MM-DD")] = None,
               until: Annotated[str | None, Query(description="last Beijing day (inclusive)")] = None,
               top: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    start, end = period(since, until)
    return trends(svc, start, end, top)


def _bars(counts: dict[str, int]) -> list[tuple[str, int, float]]:
    peak = max(counts.values()) if counts else 0
    return [(k, n, round(100 * n / peak, 1) if peak else 0.0) for k, n in counts.items()]


@router.get("/reports", include_in_schema=False)
def reports_page(request: Request, svc: ServicesDep, user: ReporterDep,
                 since: str | None = None, until: str | None = None) -> Response:
    start, end = period(since or None, until or None)
    data = trends(svc, start, end)
    return render(request, "reports.html", {
        "d": data, "since": start.astimezone(DISPLAY_OFFSET).date().isoformat(),
        "until": (end.astimezone(DISPLAY_OFFSET) - timedelta(days=1)).date().isoformat(),
        "charts": {k: _bars(data[k]) for k in ("by_platform", "by_category", "by_detector", "per_day")},
        "term_bars": _bars({x["term"]: x["count"] for x in data["top_terms"]}),
    })


@router.get("/reports/weekly", include_in_schema=False)
def weekly_report(request: Request, svc: ServicesDep, user: ReporterDep,
                  week: Annotated[str | None, Query(description="ISO week, e.g. 2026-W18")] = None) -> Response:
    if week:
        try:
            year, num = week.upper().split("-W")
            monday = date.fromisocalendar(int(year), int(num), 1)
        except ValueError as exc:
            raise BadInput(f"{week!r} is not an ISO week", hint="write it like 2026-W18") from exc
    else:
        today = datetime.now(DISPLAY_OFFSET).date()
        monday = today - timedelta(days=today.weekday() + 7)  # last full week
    start, end = period(monday.isoformat(), (monday + timedelta(days=6)).isoformat())
    data = trends(svc, start, end)
    iso = monday.isocalendar()
    return render(request, "weekly.html", {
        "d": data, "monday": monday, "sunday": monday + timedelta(days=6),
        "week": f"{iso.year}-W{iso.week:02d}",
        "prev": (monday - timedelta(days=7)).strftime("%G-W%V"), "next": (monday + timedelta(days=7)).strftime("%G-W%V"),
        "charts": {k: _bars(data[k]) for k in ("by_platform", "by_category", "per_day")},
        "precision": [p for p in alert_store(svc).dismissal_stats() if p["dismissed"]][:20],
        "generated": datetime.now(UTC),
    })
