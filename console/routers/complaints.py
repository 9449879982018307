"""JSON API for complaint cases (``/api/complaints``); the workflow lives in complaints/.

Every route checks roles with ``require(...)``; the service checks them again
per action (the workflow table says which roles may make each transition).
Targeted monitoring requests call ``services.extras["on_monitoring_request"]``
(``(source_id, until, reason)``) when the wiring provides one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from complaints.schemas import CaseAction, CaseCreate, CaseList, UnitCreate
from complaints.service import Actor, CaseService
from console.deps import Role, ServicesDep, require
from core.services import Services

router = APIRouter(prefix="/api/complaints", tags=["complaints"])

READ = (Role.HANDLER, Role.SUPERVISOR, Role.ANALYST, Role.OPERATOR)
WORK = (Role.HANDLER, Role.SUPERVISOR)
REGISTER = (Role.HANDLER, Role.SUPERVISOR, Role.OPERATOR)
Reader = Annotated[Any, Depends(require(*READ))]
Worker = Annotated[Any, Depends(require(*WORK))]
Registrar = Annotated[Any, Depends(require(*REGISTER))]
Supervisor = Annotated[Any, Depends(require(Role.SUPERVISOR))]
StatsReader = Annotated[Any, Depends(require(Role.HANDLER, Role.SUPERVISOR, Role.ANALYST))]


def service_for(svc: Services, user: Any) -> CaseService:
    """A CaseService acting as the signed-in user (shared with the pages)."""
    settings = svc.settings
    roles = frozenset(str(r) for r in getattr(user, "roles", ()) or ())
    return CaseService(
        svc.db, svc.blobs, actor=Actor(str(getattr(user, "name", user)), roles),
        config=(settings.model_extra or {}).get("complaints") or {},
        on_monitoring_request=svc.extras.get("on_monitoring_request"),
        notify=svc.extras.get("complaint_notify"),
        max_upload_bytes=int(settings.max_upload_bytes),
    )


@router.get("", response_model=CaseList, summary="List cases (a queue page)")
def list_cases(
    svc: ServicesDep, user: Reader,
    queue: str = Query("all", description="all | mine | due-soon | overdue | escalated"),
    state: str | None = None, category: str | None = None, channel: str | None = None,
    q: str | None = Query(None, description="text in target or description, or a tracking code"),
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    rows, count = service_for(svc, user).list_cases(queue, state=state, category=category, channel=channel,
                                                    q=q, limit=limit, offset=offset)
    return {"data": rows, "count": count}


@router.post("", status_code=201, summary="Register a complaint")
def create_case(body: CaseCreate, svc: ServicesDep, user: Registrar) -> dict[str, Any]:
    return service_for(svc, user).register(**body.model_dump(exclude_none=True))


@router.get("/stats", summary="Statistics: by state, category, platform, channel; on-time rate; handling time")
def stats(svc: ServicesDep, user: StatsReader) -> dict[str, Any]:
    return service_for(svc, user).stats()


@router.get("/stats.csv", summary="Statistics as CSV", response_class=Response)
def stats_csv(svc: ServicesDep, user: StatsReader) -> Response:
    return Response(service_for(svc, user).stats_csv(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="complaint-stats.csv"'})


@router.get("/export.csv", summary="A queue as CSV (no personal data)", response_class=Response)
def export_csv(svc: ServicesDep, user: StatsReader, queue: str = "all", state: str | None = None,
               category: str | None = None, limit: int = Query(500, ge=1, le=500),
               offset: int = Query(0, ge=0)) -> Response:
    import csv
    import io

    rows, _ = service_for(svc, user).list_cases(queue, state=state, category=category, limit=limit,
                                                offset=offset)
    buf = io.StringIO()
    cols = ["id", "tracking_code", "state", "channel", "category", "target", "target_platform", "assignee",
            "registered_at", "next_due", "overdue"]
    w = csv.writer(buf)
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r[c]) for c in cols])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="complaints.csv"'})


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@router.get("/units", summary="The unit registry")
def list_units(svc: ServicesDep, user: Reader) -> dict[str, Any]:
    units = service_for(svc, user).units()
    return {"data": units, "count": len(units)}


@router.post("/units", status_code=201, summary="Add a unit (supervisor)")
def add_unit(body: UnitCreate, svc: ServicesDep, user: Supervisor) -> dict[str, Any]:
    return service_for(svc, user).add_unit(body.code, body.name, body.kind, body.contact)


@router.post("/escalate", summary="Escalate passed deadlines to the supervisor now")
def escalate(svc: ServicesDep, user: Supervisor) -> dict[str, Any]:
    rows = service_for(svc, user).escalate_overdue()
    return {"data": rows, "count": len(rows)}


@router.get("/{case_id}", summary="One case with deadlines, complainants, evidence, referrals, feedback")
def get_case(case_id: int, svc: ServicesDep, user: Reader) -> dict[str, Any]:
    return service_for(svc, user).show(case_id)


@router.get("/{case_id}/timeline", summary="The case's audit log (who, when, before, after, why)")
def timeline(case_id: int, svc: ServicesDep, user: Reader) -> dict[str, Any]:
    service = service_for(svc, user)
    rows = service.timeline(case_id)
    report = service.verify_audit(case_id)
    return {"data": rows, "count": len(rows), "chain_ok": report.ok, "broken_at": report.broken_at}


@router.get("/{case_id}/duplicates", summary="Open cases offered for merge")
def duplicates(case_id: int, svc: ServicesDep, user: Worker) -> dict[str, Any]:
    rows = service_for(svc, user).duplicates(case_id)
    return {"data": rows, "count": len(rows)}


@router.post("/{case_id}/actions", summary="Make one workflow transition (409 when not allowed)")
def act(case_id: int, body: CaseAction, svc: ServicesDep, user: Worker) -> dict[str, Any]:
    return service_for(svc, user).act(case_id, body.action, **body.fields())


@router.post("/{case_id}/attachments", status_code=201,
             summary="Upload evidence (type checked: 415; size limited: 413)")
def upload(case_id: int, svc: ServicesDep, user: Worker, file: UploadFile = File(...),
           note: str = Form("")) -> JSONResponse:
    limit = int(svc.settings.max_upload_bytes)
    data = file.file.read(limit + 1)
    result = service_for(svc, user).attach_file(case_id, data, filename=file.filename or "upload",
                                                media_type=file.content_type or "", note=note)
    return JSONResponse(result, status_code=201)
