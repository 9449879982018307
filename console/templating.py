"""One Jinja environment for every console page (console/templates).

Other routers render with ``render(request, "x.html", {...})``: the context then
has ``request``, ``user``, ``csrf_token``, ``lang`` and ``t`` (messages), and
``base.html`` draws the nav. Autoescaping is on; never mark user text safe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from console import i18n

TEMPLATES_DIR = Path(__file__).with_name("templates")
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

try:
    from zoneinfo import ZoneInfo

    DISPLAY_TZ: Any = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - no tz database
    DISPLAY_TZ = timezone(timedelta(hours=8))


def fmt_dt(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A timestamp in Beijing time (the monitoring center's clock)."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(DISPLAY_TZ).strftime(fmt)


def fmt_timecode(seconds: Any) -> str:
    if seconds is None or seconds == "":
        return ""
    s = float(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h):02d}:{int(m):02d}:{sec:04.1f}"


templates.env.filters["dt"] = fmt_dt
templates.env.filters["timecode"] = fmt_timecode


def request_lang(request: Request) -> str:
    settings = request.app.state.services.settings
    return i18n.resolve(request.query_params.get("lang"), request.cookies.get(i18n.LANG_COOKIE),
                        settings.language)


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    from console.auth import current_user

    lang = request_lang(request)
    user = current_user(request)
    ctx: dict[str, Any] = {
        "request": request, "user": user, "lang": lang, "t": partial(i18n.t, lang=lang),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    asked = i18n.normalize(request.query_params.get("lang"))
    if asked and asked != request.cookies.get(i18n.LANG_COOKIE):
        response.set_cookie(i18n.LANG_COOKIE, asked, max_age=365 * 86400, samesite="lax")
    return response
