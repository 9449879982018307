"""Sign-in, sessions, CSRF and role checks.

- Sessions live in a signed cookie (itsdangerous; the key is ``settings.secret_key``
  or one generated once into ``data_dir/secret.key``). The cookie holds the
  account id, its session version (bumped on role change, disable or password
  change, which signs every session of the account out) and a CSRF token.
- CSRF: every state-changing request authenticated by the cookie must carry
  the session's token, as the ``X-CSRF-Token`` header (JavaScript reads it from
  the ``qinglang_csrf`` cookie or the page's ``<meta name="csrf-token">``) or as
  the ``csrf_token`` form field.
- Scripts may use HTTP Basic instead of the cookie (no CSRF token needed).
- ``require_roles(*roles)``: 401 when not signed in (pages redirect to /login),
  403 when the account holds none of the roles; administrators hold every role.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from console.users import User, UserService
from core.errors import PermissionDenied, QinglangError
from core.settings import Settings

SESSION_COOKIE = "qinglang_session"
CSRF_COOKIE = "qinglang_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(QinglangError):
    """No valid session: pages redirect to /login, the API answers 401."""

    http_status = 401


class TooManyAttempts(QinglangError):
    http_status = 429


# -- the signing key ---------------------------------------------------------------
_key_lock = threading.Lock()


def secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.ensure_data_dir() / "secret.key"
    with _key_lock:
        if not path.exists():
            tmp = Path(f"{path}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)  # first writer wins, even across processes
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return path.read_text().strip()


def _serializer(request_or_app: Any) -> URLSafeTimedSerializer:
    app = getattr(request_or_app, "app", request_or_app)
    ser = getattr(app.state, "session_serializer", None)
    if ser is None:
        ser = URLSafeTimedSerializer(secret_key(app.state.services.settings), salt="qinglang-session")
        app.state.session_serializer = ser
    return ser


def session_token(app: Any, user: User, csrf: str | None = None) -> tuple[str, str]:
    """A signed session cookie value for ``user`` and its CSRF token."""
    csrf = csrf or secrets.token_urlsafe(24)
    return _serializer(app).dumps({"u": user.id, "v": user.session_version, "c": csrf}), csrf


def start_session(request: Request, response: Response, user: User) -> str:
    value, csrf = session_token(request.app, user)
    secure = bool(request.app.state.services.settings.cookie_secure)
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE, httponly=True,
                        samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=SESSION_MAX_AGE, httponly=False,
                        samesite="strict", secure=secure, path="/")
    return csrf


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def _users(request: Request) -> UserService:
    return UserService(request.app.state.services.db)


def _basic_user(request: Request, header: str) -> User | None:
    try:
        name, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    limiter: LoginLimiter = request.app.state.login_limiter
    limiter.check(client_ip(request), name)
    user = _users(request).authenticate(name, password)
    if user is None:
        limiter.failed(client_ip(request), name)
    return user


def current_user(request: Request) -> User | None:
    """The signed-in user (cached on ``request.state``), or None."""
    if hasattr(request.state, "user"):
        return request.state.user  # type: ignore[no-any-return]
    user: User | None = None
    request.state.auth_via = None
    request.state.csrf_token = ""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        user = _basic_user(request, header)
        request.state.auth_via = "basic" if user else None
    else:
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                data = _serializer(request).loads(raw, max_age=SESSION_MAX_AGE)
                found = _users(request).by_id(int(data["u"]))
                if found and not found.disabled and found.session_version == data.get("v"):
                    user = found
                    request.state.auth_via = "cookie"
                    request.state.csrf_token = str(data.get("c", ""))
            except (BadSignature, KeyError, TypeError, ValueError):
                user = None
    request.state.user = user
    return user


async def verify_csrf(request: Request) -> None:
    """Raise PermissionDenied unless a cookie-authenticated write carries the session's token."""
    if request.method in SAFE_METHODS or request.state.auth_via != "cookie":
        return
    expected = request.state.csrf_token
    sent = request.headers.get(CSRF_HEADER, "")
    ctype = request.headers.get("content-type", "")
    if not sent and ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        sent = str(form.get("csrf_token") or "")
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise PermissionDenied("the request has no valid CSRF token",
                               hint="reload the page and try again (scripts: send the X-CSRF-Token header)")


def require_roles(*roles: str) -> Callable[..., Any]:
    """Dependency: the signed-in user, who must hold one of ``roles`` (admin holds all)."""
    wanted = tuple(str(r) for r in roles)

    async def dependency(request: Request) -> User:
        # A database read (and, for HTTP Basic, an argon2 check): off the event loop.
        user = await run_in_threadpool(current_user, request)
        if user is None:
            raise NotSignedIn("you are not signed in", hint="sign in at /login")
        if wanted and not user.has(*wanted):
            raise PermissionDenied(
                f"account {user.name!r} may not do this",
                hint=f"it needs one of the roles: {', '.join(wanted)}; ask an administrator",
            )
        await verify_csrf(request)
        return user

    dependency.qinglang_roles = wanted  # type: ignore[attr-defined]  # read by the authorization tests
    return dependency


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


class LoginLimiter:
    """Failed sign-ins per (address, account) and per address within a sliding window."""

    def __init__(self, per_account: int = 5, per_address: int = 20, window_s: float = 300.0) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window = window_s
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def check(self, ip: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._recent((ip, name), now)) >= self.per_account or \
                    len(self._recent((ip, ""), now)) >= self.per_address:
                raise TooManyAttempts("too many failed sign-ins",
                                      hint=f"wait {int(self.window // 60)} minutes and try again")

    def failed(self, ip: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent((ip, name), now).append(now)
            self._recent((ip, ""), now).append(now)

    def succeeded(self, ip: str, name: str) -> None:
        with self._lock:
            self._fails.pop((ip, name), None)
