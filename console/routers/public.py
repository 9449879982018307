"""The public complaint form and status page (no sign-in).

- ``GET /public/complaints``: the form (Chinese first).
- ``POST /public/complaints``: registers an anonymous (or named) web complaint and
  shows its tracking code (JSON when the client asks for it). Rate limited per
  client address (``settings.public_rate_limit_per_minute``; 429 beyond it).
  CSRF-safe: a double-submit token (a random cookie, SameSite=Strict, that the
  form must echo) and, when the browser sends one, an Origin that matches ours.
- ``GET /public/track?code=...``: the case's state and the feedback sent to the
  holder of the code; nothing else.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from complaints.schemas import CATEGORY_LABELS, DEFAULT_CATEGORIES
from complaints.service import Actor, CaseService
from console.templating import render
from core.errors import BadInput, NotFound, PermissionDenied, QinglangError

router = APIRouter(prefix="/public", include_in_schema=True, tags=["public"])
FORM_COOKIE = "qinglang_public_form"
STATE_LABELS = {
    "registered": "已登记，待受理", "accepted": "已受理", "rejected": "不予受理", "verifying": "核查中",
    "referred": "已转办", "awaiting_reply": "已转办，待回复", "concluded": "已办结", "feedback_sent": "已反馈",
    "closed": "已结案", "merged": "已合并办理",
}


class TooManySubmissions(QinglangError):
    http_status = 429


class RateLimiter:
    """At most ``limit`` submissions per client address in a sliding minute."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str, limit: int) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._hits.setdefault(address, deque())
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= limit:
                raise TooManySubmissions("too many complaints from this address in the last minute",
                                         hint="wait a minute and submit again; one submission per complaint")
            q.append(now)
            if len(self._hits) > 10000:  # forget idle addresses
                for key in [k for k, v in self._hits.items() if not v]:
                    del self._hits[key]


def _limiter(request: Request) -> RateLimiter:
    lim = getattr(request.app.state, "public_rate_limiter", None)
    if lim is None:
        lim = request.app.state.public_rate_limiter = RateLimiter()
    return lim  # type: ignore[no-any-return]


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _service(request: Request) -> CaseService:
    svc = request.app.state.services
    return CaseService(svc.db, svc.blobs, actor=Actor("public-web", frozenset()),
                       config=(svc.settings.model_extra or {}).get("complaints") or {})


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        if urlsplit(origin).netloc != request.headers.get("host", request.url.netloc):
            raise PermissionDenied("the form was sent from another site", hint="use the form on this site")


def _form(request: Request, error: str = "", values: dict[str, Any] | None = None, status: int = 200) -> Response:
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "complaints/public_form.html", {
        "form_token": token, "error": error, "values": values or {},
        "categories": [(c, CATEGORY_LABELS.get(c, c)) for c in DEFAULT_CATEGORIES],
    }, status_code=status)
    response.set_cookie(FORM_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/public")
    return response


@router.get("/complaints", summary="The public complaint form")
def public_form(request: Request) -> Response:
    return _form(request)


@router.post("/complaints", summary="Submit a complaint (anonymous allowed); returns a tracking code")
def submit(
    request: Request,
    category: Annotated[str, Form(max_length=32)],
    target: Annotated[str, Form(max_length=2000)],
    description: Annotated[str, Form(max_length=20000)],
    form_token: Annotated[str, Form(max_length=100)] = "",
    platform: Annotated[str, Form(max_length=200)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=50)] = "",
    email: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    settings = request.app.state.services.settings
    _limiter(request).check(request.client.host if request.client else "?",
                            int(settings.public_rate_limit_per_minute))
    _check_origin(request)
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not cookie or not form_token or not secrets.compare_digest(cookie, form_token):
        raise PermissionDenied("the form has expired or was not sent from this site",
                               hint="reload the form page and submit again")
    person = {"name": name, "phone": phone, "email": email, "anonymous": not (name or phone or email)}
    try:
        case = _service(request).register(channel="web", category=category, target=target,
                                          description=description, target_platform=platform,
                                          target_url=url, complainant=person)
    except BadInput as exc:
        if _wants_json(request):
            raise
        values = {"category": category, "target": target, "description": description, "platform": platform,
                  "url": url, "name": name, "phone": phone, "email": email}
        return _form(request, f"{exc.message}（{exc.hint}）", values, status=422)
    result = {"tracking_code": case["tracking_code"], "state": case["state"],
              "acceptance_due": case["deadlines"].get("acceptance")}
    if _wants_json(request):
        return JSONResponse(result, status_code=201)
    return render(request, "complaints/public_done.html", {"result": result}, status_code=201)


@router.get("/track", summary="Status of a complaint by tracking code")
def track(request: Request, code: str = "") -> Response:
    code = code.strip()[:32]
    status = None
    error = ""
    if code:
        try:
            status = _service(request).track(code)
        except NotFound as exc:
            if _wants_json(request):
                raise
            error = exc.message
    if _wants_json(request):
        if status is None:
            raise BadInput("no tracking code given", hint="add ?code=QL-...")
        return JSONResponse(status)
    return render(request, "complaints/public_track.html",
                  {"code": code, "status": status, "error": error, "labels": STATE_LABELS})
