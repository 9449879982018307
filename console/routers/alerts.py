"""Alerts API: the list (newest first, filters), one alert with its evidence, actions, live stream."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from console.deps import Role, ServicesDep, require
from console.users import User
from core.alerts import AlertStore
from core.errors import NotFound
from core.events import Alert
from core.services import Services

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

READ_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.HANDLER)
ACT_ROLES = (Role.OPERATOR, Role.SUPERVISOR)
ReaderDep = Annotated[User, Depends(require(*READ_ROLES))]
ActorDep = Annotated[User, Depends(require(*ACT_ROLES))]


class AlertsPublic(BaseModel):
    data: list[Alert]
    count: int


class AlertActionCreate(BaseModel):
    action: Literal["acknowledge", "escalate", "dismiss", "link", "open_case"]
    reason: str | None = Field(default=None, max_length=2000)
    case_id: str | None = Field(default=None, max_length=64)


class AlertDetailPublic(BaseModel):
    alert: Alert
    hits: list[dict[str, Any]]
    hit_count: int
    evidence: dict[str, Any] | None
    history: list[dict[str, Any]]
    earlier: list[Alert]


def alert_store(svc: Services) -> AlertStore:
    store = svc.extras.get("alert_store")
    if store is None:
        store = AlertStore(svc.db, window_seconds=svc.settings.alert_window_seconds)
        svc.extras["alert_store"] = store
    return store  # type: ignore[no-any-return]


def alert_detail(svc: Services, alert_id: str, max_hits: int = 50) -> AlertDetailPublic:
    store = alert_store(svc)
    alert = store.get(alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist", hint="check the id in the alert list")
    ids = store.hit_ids(alert_id)
    hits = [d for d in (svc.index.get(h) for h in ids[:max_hits]) if d]
    last = next((h for h in hits if h.get("id") == alert.last_hit_id), hits[0] if hits else None)
    earlier, _ = store.list(source=alert.source_id, limit=11)
    return AlertDetailPublic(
        alert=alert, hits=hits, hit_count=len(ids),
        evidence=(last or {}).get("evidence") if last else None,
        history=store.history(alert_id),
        earlier=[a for a in earlier if a.id != alert.id][:10],
    )


@router.get("", response_model=AlertsPublic, summary="Alerts, newest first")
def list_alerts(
    svc: ServicesDep, user: ReaderDep,
    state: Annotated[str | None, Query(description="new, acknowledged, escalated, dismissed, linked (comma list)")] = None,
    severity: Annotated[str | None, Query(description="info … critical (comma list)")] = None,
    source: str | None = None, detector: str | None = None,
    list_name: Annotated[str | None, Query(alias="list")] = None,
    category: str | None = None, since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    data, count = alert_store(svc).list(state=state, severity=severity, source=source, detector=detector,
                                        list_name=list_name, category=category, since=since,
                                        limit=limit, offset=offset)
    # Alerts are validated models already: dump once (the declared response_model documents the shape).
    return JSONResponse({"data": [a.to_json() for a in data], "count": count})


@router.get("/precision", summary="Dismissals per list entry (precision)")
def precision(svc: ServicesDep,
              user: Annotated[User, Depends(require(Role.LIST_ADMIN, Role.SUPERVISOR, Role.ANALYST))]) -> dict:
    data = alert_store(svc).dismissal_stats()
    return {"data": data, "count": len(data)}


@router.get("/stream", summary="Server-sent events: alerts created or changed")
async def stream(
    request: Request, svc: ServicesDep, user: ReaderDep,
    since: Annotated[int | None, Query(description="sequence to resume after (default: now)")] = None,
    max_seconds: Annotated[float, Query(gt=0, le=86400)] = 120,
    poll: Annotated[float, Query(ge=0.1, le=10)] = 0.5,
) -> StreamingResponse:
    """Each event is ``event: alert`` with the alert as JSON and ``id:`` its sequence.

    The stream ends after ``max_seconds``; EventSource then reconnects with
    ``Last-Event-ID`` (which wins over ``since``) and resumes where it was, so a
    server can shut down without waiting on open streams.
    """
    store = alert_store(svc)
    last_id = request.headers.get("last-event-id")
    if last_id and last_id.isdigit():
        since = int(last_id)
    seq = since if since is not None else await run_in_threadpool(store.current_seq)

    async def events() -> Any:
        nonlocal seq
        loop = asyncio.get_running_loop()
        started = loop.time()
        yield f"retry: 1000\nid: {seq}\nevent: hello\ndata: {json.dumps({'seq': seq})}\n\n"
        last_beat = started
        while True:
            changed, new_seq = await run_in_threadpool(store.changes_since, seq)
            for alert in changed:
                yield f"id: {new_seq}\nevent: alert\ndata: {json.dumps(alert.to_json(), ensure_ascii=False)}\n\n"
            seq = new_seq
            now = loop.time()
            if now - last_beat > 15:
                yield ": keep-alive\n\n"
                last_beat = now
            if now - started >= max_seconds:
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(poll)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/{alert_id}", response_model=AlertDetailPublic, summary="One alert with its hits and evidence")
def get_alert(alert_id: str, svc: ServicesDep, user: ReaderDep) -> AlertDetailPublic:
    return alert_detail(svc, alert_id)


def open_case(svc: Services, alert_id: str, user: User, reason: str | None) -> str:
    """A complaint case with the alert as evidence (via complaints.service), then link the alert."""
    from console.cases import open_case_from_alert

    return open_case_from_alert(svc, alert_detail(svc, alert_id), user, reason)


@router.post("/{alert_id}/actions", response_model=Alert, summary="Acknowledge, escalate, dismiss, link, open a case")
def act(alert_id: str, body: AlertActionCreate, svc: ServicesDep, user: ActorDep) -> Alert:
    store = alert_store(svc)
    if body.action == "open_case":
        case_id = open_case(svc, alert_id, user, body.reason)
        return store.act(alert_id, "link", user=user.name, reason=body.reason, case_id=case_id)
    return store.act(alert_id, body.action, user=user.name, reason=body.reason, case_id=body.case_id)


@router.get("/{alert_id}/history", summary="Who did what to one alert")
def history(alert_id: str, svc: ServicesDep, user: ReaderDep) -> dict:
    if alert_store(svc).get(alert_id) is None:
        raise NotFound(f"alert {alert_id} does not exist", hint="check the id in the alert list")
    data = alert_store(svc).history(alert_id)
    return {"data": data, "count": len(data)}
