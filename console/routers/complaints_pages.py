"""Desk pages for complaint handlers: queues, registration, the case view and its action forms.

The action forms are drawn from the workflow table (complaints.workflow): each
action the user may take now gets a form with the fields the table requires.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from complaints import workflow
from complaints.queries import QUEUES
from complaints.schemas import CATEGORY_LABELS, CHANNEL_LABELS, CHANNELS, DEFAULT_CATEGORIES
from console.deps import ServicesDep, require
from console.routers.complaints import READ, REGISTER, WORK, service_for
from console.templating import render
from core.errors import QinglangError

router = APIRouter(prefix="/complaints", include_in_schema=False)
Reader = Annotated[Any, Depends(require(*READ))]
Worker = Annotated[Any, Depends(require(*WORK))]
Registrar = Annotated[Any, Depends(require(*REGISTER))]

FIELD_LABELS = {
    "reason": "原因 Reason", "text": "内容 Text", "note": "转办说明 Note", "unit": "承办单位 Unit",
    "due": "回复期限 Due", "outcome": "结论 Outcome", "into": "并入案件 Into case", "days": "延期天数 Days",
    "user": "承办人 Assignee", "kind": "证据类型 Kind", "ref": "证据编号 Ref", "source": "信源 Source",
    "until": "监测截止 Until",
}
OPTIONAL_FIELDS = {"refer": ("due",), "send-feedback": ("text",), "attach-evidence": ("note",)}


def _forms(case: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for action in case.get("allowed_actions", []):
        t = workflow.TRANSITIONS[action]
        fields = [{"name": f, "label": FIELD_LABELS.get(f, f), "choices": t.choices.get(f), "required": True}
                  for f in t.required]
        fields += [{"name": f, "label": FIELD_LABELS.get(f, f), "choices": None, "required": False}
                   for f in OPTIONAL_FIELDS.get(action, ())]
        out.append({"action": action, "label": t.label or action, "fields": fields})
    return out


@router.get("")
def desk(request: Request, svc: ServicesDep, user: Reader, queue: str = "mine", q: str = "",
         state: str = "", category: str = "", page: int = 1) -> Response:
    service = service_for(svc, user)
    queue = queue if queue in QUEUES else "mine"
    page = max(1, page)
    rows, count = service.list_cases(queue, q=q or None, state=state or None, category=category or None,
                                     limit=50, offset=(page - 1) * 50)
    counts = {name: service.list_cases(name, limit=1)[1] for name in ("mine", "due-soon", "overdue", "escalated")}
    return render(request, "complaints/desk.html", {
        "rows": rows, "count": count, "queue": queue, "q": q, "state": state, "category": category,
        "page": page, "pages": max(1, (count + 49) // 50), "counts": counts, "states": workflow.STATES,
        "categories": [(c, CATEGORY_LABELS.get(c, c)) for c in DEFAULT_CATEGORIES],
        "can_register": any(user.has(str(r)) for r in REGISTER) if hasattr(user, "has") else True,
    })


@router.get("/new")
def new_form(request: Request, user: Registrar) -> Response:
    return _new(request, {}, "")


def _new(request: Request, values: dict[str, Any], error: str, status: int = 200) -> Response:
    return render(request, "complaints/new.html", {
        "values": values, "error": error,
        "channels": [(c, CHANNEL_LABELS.get(c, c)) for c in CHANNELS if c != "web"],
        "categories": [(c, CATEGORY_LABELS.get(c, c)) for c in DEFAULT_CATEGORIES],
    }, status_code=status)


@router.post("/new")
def register(request: Request, svc: ServicesDep, user: Registrar,
             channel: Annotated[str, Form(max_length=16)], category: Annotated[str, Form(max_length=32)],
             target: Annotated[str, Form(max_length=2000)], description: Annotated[str, Form(max_length=20000)],
             platform: Annotated[str, Form(max_length=200)] = "", program: Annotated[str, Form(max_length=200)] = "",
             url: Annotated[str, Form(max_length=2000)] = "", source: Annotated[str, Form(max_length=100)] = "",
             received_at: Annotated[str, Form(max_length=40)] = "", name: Annotated[str, Form(max_length=200)] = "",
             phone: Annotated[str, Form(max_length=50)] = "", email: Annotated[str, Form(max_length=200)] = "",
             id_number: Annotated[str, Form(max_length=50)] = "",
             address: Annotated[str, Form(max_length=2000)] = "") -> Response:
    values: dict[str, Any] = dict(channel=channel, category=category, target=target, description=description,
                  target_platform=platform, target_program=program, target_url=url, target_source_id=source)
    if received_at:
        values["received_at"] = received_at
    if name or phone or email or id_number or address:
        values["complainant"] = {"name": name, "phone": phone, "email": email, "id_number": id_number,
                                 "address": address}
    try:
        case = service_for(svc, user).register(**values)
    except QinglangError as exc:
        form = dict(values, platform=platform, program=program, url=url, source=source, received_at=received_at,
                    name=name, phone=phone, email=email, id_number=id_number, address=address)
        return _new(request, form, f"{exc.message}（{exc.hint}）", status=exc.http_status)
    return RedirectResponse(f"/complaints/{case['id']}?done=register", status_code=303)


def _case_page(request: Request, svc: Any, user: Any, case_id: int, error: str = "", status: int = 200) -> Response:
    service = service_for(svc, user)
    case = service.show(case_id)
    timeline = service.timeline(case_id)
    return render(request, "complaints/case.html", {
        "case": case, "timeline": timeline, "forms": _forms(case), "units": service.units(),
        "error": error, "done": request.query_params.get("done", ""),
        "can_work": any(user.has(str(r)) for r in WORK) if hasattr(user, "has") else False,
        "category_labels": CATEGORY_LABELS, "channel_labels": CHANNEL_LABELS,
    }, status_code=status)


@router.get("/{case_id}")
def case_view(request: Request, case_id: int, svc: ServicesDep, user: Reader) -> Response:
    return _case_page(request, svc, user, case_id)


@router.post("/{case_id}/act")
async def case_act(request: Request, case_id: int, svc: ServicesDep, user: Worker) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    allowed = {"reason", "text", "note", "unit", "due", "outcome", "into", "days", "user", "kind", "ref",
               "source", "until"}
    fields = {k: str(v).strip() for k, v in form.items() if k in allowed and str(v).strip()}
    try:
        service_for(svc, user).act(case_id, action, **fields)
    except QinglangError as exc:
        return _case_page(request, svc, user, case_id, f"{exc.message}（{exc.hint}）", status=exc.http_status)
    return RedirectResponse(f"/complaints/{case_id}?done={quote(action)}", status_code=303)


@router.post("/{case_id}/upload")
def case_upload(request: Request, case_id: int, svc: ServicesDep, user: Worker,
                file: UploadFile = File(...), note: str = Form("")) -> Response:
    limit = int(svc.settings.max_upload_bytes)
    try:
        service_for(svc, user).attach_file(case_id, file.file.read(limit + 1), filename=file.filename or "upload",
                                           media_type=file.content_type or "", note=note)
    except QinglangError as exc:
        return _case_page(request, svc, user, case_id, f"{exc.message}（{exc.hint}）", status=exc.http_status)
    return RedirectResponse(f"/complaints/{case_id}?done=upload", status_code=303)
