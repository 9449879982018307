"""Analysts' search page and the operators' source wall."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console import evidence as ev
from console.auth import require_roles
from console.deps import Role, ServicesDep
from console.query import MULTI, build_query, split_values
from console.routers.alerts import alert_store
from console.templating import render
from console.users import User, UserService
from core.errors import QinglangError
from core.index.base import HitQuery

router = APIRouter(include_in_schema=False)
SearcherDep = Annotated[User, Depends(require_roles(Role.ANALYST, Role.SUPERVISOR))]
WallDep = Annotated[User, Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR))]
FACET_PARAM = {"source_id": "source", "detector": "detector", "list_name": "list", "category": "category",
               "severity": "severity", "platform": "platform"}


def _params(request: Request) -> dict[str, Any]:
    qp = request.query_params
    out: dict[str, Any] = {"q": qp.get("q", ""), "since": qp.get("since", ""), "until": qp.get("until", "")}
    for k in MULTI:
        out[k] = split_values(qp.getlist(k))
    return out


def _qs(params: dict[str, Any], **change: Any) -> str:
    merged = {**params, **change}
    pairs: list[tuple[str, str]] = []
    for k, v in merged.items():
        for item in (v if isinstance(v, list) else [v]):
            if item not in (None, ""):
                pairs.append((k, str(item)))
    return urlencode(pairs)


def _toggle(params: dict[str, Any], field: str, value: str) -> str:
    current = list(params.get(field) or [])
    current = [v for v in current if v != value] if value in current else [*current, value]
    return _qs(params, **{field: current})


@router.get("/search")
def search_page(request: Request, svc: ServicesDep, user: SearcherDep, cursor: str | None = None) -> Response:
    params = _params(request)
    error = None
    res = None
    try:
        query = build_query(q=params["q"], since=params["since"] or None, until=params["until"] or None,
                            size=50, cursor=cursor, **{k: params[k] for k in MULTI})
        res = svc.index.search(query)
    except QinglangError as exc:
        error = exc
    results = []
    for h in (res.hits if res else []):
        results.append({"hit": h, "e": h.get("evidence") or {}, "parts": ev.highlight_snippet(h)})
    per_day = res.per_day if res else {}
    peak = max(per_day.values()) if per_day else 0
    facets = {f: (res.facets.get(f, {}) if res else {}) for f in FACET_PARAM}
    return render(request, "search.html", {
        "p": params, "res": res, "results": results, "error": error, "per_day": per_day, "peak": peak,
        "facets": facets, "facet_param": FACET_PARAM, "qs": _qs(params), "toggle": _toggle,
        "next_qs": _qs(params, cursor=res.cursor) if res and res.cursor else None,
        "saved": UserService(svc.db).saved_searches(user.id),
    })


LIVE_KINDS = ("iptv", "ott", "file")
_HEALTH = {"ok": "healthy", "running": "healthy", "error": "problem", "lost": "problem",
           "silent": "silent", "idle": "silent"}


def _registry(svc: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    try:  # the sources registry (ingest), when installed
        from ingest.registry import SourceRegistry

        reg = SourceRegistry(svc.db)
        rows, _ = reg.list()
        return rows, reg.health()
    except Exception:  # noqa: BLE001 - the wall still works from the index alone
        return [], {}


def _newest_frame(svc: Any, source_id: str) -> dict[str, Any] | None:
    for doc in svc.index.search(HitQuery(source=[source_id], size=30, facets=False, histogram=False)).hits:
        if (doc.get("evidence") or {}).get("frame"):
            return doc
    return None


def source_tiles(svc: Any) -> list[dict[str, Any]]:
    """One tile per live source: its newest frame, its health and its open technical problems."""
    sources, health = _registry(svc)
    facets = svc.index.search(HitQuery(size=1, facets=True, histogram=False)).facets
    known = {s["id"]: s for s in sources}
    ids = [s["id"] for s in sources if s.get("kind") in LIVE_KINDS]
    ids += [sid for sid in sorted(facets.get("source_id", {})) if sid not in known]
    open_alerts, _ = alert_store(svc).list(state="new,acknowledged,escalated", limit=1000)
    now = datetime.now(UTC)
    tiles = []
    for sid in ids:
        frame_doc = _newest_frame(svc, sid)
        if sid not in known and frame_doc is None:
            continue  # a text-only source (web page, comments): nothing to show on a wall
        problems = [a for a in open_alerts if a.source_id == sid and a.category == "technical"]
        h = health.get(sid) or {}
        last = h.get("last_sample_at") or (frame_doc or {}).get("detected_at")
        if problems:
            state = "problem"
        elif h:
            state = _HEALTH.get(str(h.get("state")), "silent")
        else:
            age = (now - datetime.fromisoformat(last.replace("Z", "+00:00"))).total_seconds() if last else None
            state = "silent" if age is None or age > 300 else "healthy"
        tiles.append({"id": sid, "name": (known.get(sid) or {}).get("name", sid), "last": last, "health": state,
                      "frame": ((frame_doc or {}).get("evidence") or {}).get("frame"),
                      "problems": problems[:3], "error": h.get("last_error") or "",
                      "open": sum(1 for a in open_alerts if a.source_id == sid)})
    return tiles


@router.get("/wall")
def wall_page(request: Request, svc: ServicesDep, user: WallDep) -> Response:
    return render(request, "wall.html", {"tiles": source_tiles(svc)})
