"""Pages for people: sign-in, the live alert list and the evidence panel."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console import evidence as ev
from console.auth import (
    client_ip,
    current_user,
    end_session,
    require_roles,
    start_session,
    verify_csrf,
)
from console.deps import Role, ServicesDep
from console.routers.alerts import ACT_ROLES, READ_ROLES, alert_detail, alert_store, open_case
from console.routers.hits import READ_ROLES as HIT_READ_ROLES
from console.templating import render
from console.users import User, UserService
from core.errors import NotFound, QinglangError
from core.events import AlertState, Severity
from core.services import Services

router = APIRouter(include_in_schema=False)

AnyUserDep = Annotated[User, Depends(require_roles())]
AlertReaderDep = Annotated[User, Depends(require_roles(*READ_ROLES))]
AlertActorDep = Annotated[User, Depends(require_roles(*ACT_ROLES))]
HitReaderDep = Annotated[User, Depends(require_roles(*HIT_READ_ROLES))]

HOME_BY_ROLE = [(Role.OPERATOR, "/alerts"), (Role.SUPERVISOR, "/alerts"), (Role.HANDLER, "/complaints"),
                (Role.ANALYST, "/search"), (Role.LIST_ADMIN, "/lists"), (Role.ADMIN, "/alerts")]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002
    if current_user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, svc: ServicesDep, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)], next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    limiter = request.app.state.login_limiter
    ip = client_ip(request)
    try:
        limiter.check(ip, username)
    except QinglangError as exc:
        return render(request, "login.html", {"next": _safe_next(next), "error": exc.message,
                                              "hint": exc.hint}, status_code=exc.http_status)
    user = UserService(svc.db).authenticate(username.strip(), password)
    if user is None:
        limiter.failed(ip, username)
        return render(request, "login.html", {"next": _safe_next(next), "error": "账号或密码错误",
                                              "hint": "Wrong account or password"}, status_code=401)
    limiter.succeeded(ip, username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request, response, user)
    return response


@router.post("/logout")
async def logout(request: Request, svc: ServicesDep) -> Response:
    """Signs the account out (every session of it: a copied cookie stops working too)."""
    user = current_user(request)
    if user is not None:
        await verify_csrf(request)
        UserService(svc.db).end_sessions(user.id)
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


@router.get("/")
def home(user: AnyUserDep) -> Response:
    for role, path in HOME_BY_ROLE:
        if role.value in user.roles:
            return RedirectResponse(path, status_code=303)
    return RedirectResponse("/alerts", status_code=303)


FILTERS = ("state", "severity", "source", "detector", "list", "category")


@router.get("/alerts")
def alerts_page(request: Request, svc: ServicesDep, user: AlertReaderDep, page: int = 1) -> Response:
    params = {k: (request.query_params.get(k) or None) for k in FILTERS}
    page = max(1, page)
    store = alert_store(svc)
    alerts, total = store.list(state=params["state"], severity=params["severity"], source=params["source"],
                               detector=params["detector"], list_name=params["list"],
                               category=params["category"], limit=100, offset=(page - 1) * 100)
    return render(request, "alerts.html", {
        "alerts": alerts, "total": total, "page": page, "filters": params, "seq": store.current_seq(),
        "states": [s.value for s in AlertState], "severities": [s.value for s in Severity],
        "can_act": user.has(*[str(r) for r in ACT_ROLES]),
    })


def evidence_context(hit: dict | None) -> dict:
    e = (hit or {}).get("evidence") or {}
    return {"hit": hit, "e": e, "snippet": ev.highlight_snippet(hit) if hit else None,
            "full": ev.highlight_full(hit) if hit and hit.get("text") else None,
            "clip_kind": ev.clip_kind(e.get("clip")), "box": ev.box_points(e.get("box"))}


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: str, svc: ServicesDep, user: AlertReaderDep,
               hit: str | None = None) -> Response:
    detail = alert_detail(svc, alert_id)
    wanted = hit or detail.alert.last_hit_id
    shown = next((h for h in detail.hits if h.get("id") == wanted), detail.hits[0] if detail.hits else None)
    return render(request, "alert.html", {
        "a": detail.alert, "d": detail, **evidence_context(shown),
        "can_act": user.has(*[str(r) for r in ACT_ROLES]),
        "can_open_case": user.has(*[str(r) for r in ACT_ROLES]) and _cases_available(),
        "message": request.query_params.get("msg"),
    })


@router.get("/hits/{hit_id}")
def hit_page(request: Request, hit_id: str, svc: ServicesDep, user: HitReaderDep) -> Response:
    """One hit's evidence; when it was folded into an alert the operator may see, that alert's page."""
    doc = svc.index.get(hit_id)
    if doc is None:
        raise NotFound(f"hit {hit_id} does not exist", hint="it may have been purged; search again")
    alert_id = _alert_of(svc, hit_id)
    if alert_id and user.has(*[str(r) for r in READ_ROLES]):
        return RedirectResponse(f"/alerts/{alert_id}?hit={quote(hit_id)}", status_code=303)
    return render(request, "hit.html", {"a": None, "alert_id": alert_id, **evidence_context(doc)})


def _alert_of(svc: Services, hit_id: str) -> str | None:
    from sqlalchemy import select

    from core.alerts import AlertHitRow

    with svc.db.session() as s:
        return s.scalar(select(AlertHitRow.alert_id).where(AlertHitRow.hit_id == hit_id).limit(1))


def _cases_available() -> bool:
    from console.cases import available

    return available()


@router.post("/alerts/{alert_id}/act")
def alert_act(request: Request, alert_id: str, svc: ServicesDep, user: AlertActorDep,
              action: Annotated[str, Form()], reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Form fallback for the action buttons (JavaScript uses the JSON API)."""
    store = alert_store(svc)
    if action == "open_case":
        case_id = open_case(svc, alert_id, user, reason or None)
        store.act(alert_id, "link", user=user.name, reason=reason or None, case_id=case_id)
    else:
        store.act(alert_id, action, user=user.name, reason=reason or None)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
