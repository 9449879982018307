"""The console: FastAPI app with the JSON API (``/api``) and the pages.

``create_app(services)`` builds one app. Routers are one module per resource
under console/routers; a module that does not exist yet is skipped (the same
way qinglang/cli.py registers commands). Errors (``QinglangError``) become a
JSON body ``{"error", "message", "hint", "status"}`` for the API and an error
page for people, never a stack trace.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.auth import LoginLimiter, NotSignedIn
from console.middleware import ConsoleMiddleware
from core.errors import QinglangError
from core.services import Services
from core.settings import get_settings

log = logging.getLogger("qinglang.console")
STATIC_DIR = Path(__file__).with_name("static")

# (module, public): public routers need no sign-in (the complaint form for citizens).
ROUTERS: list[tuple[str, bool]] = [
    ("console.routers.pages", False),
    ("console.routers.alerts", False),
    ("console.routers.hits", False),
    ("console.routers.blobs", False),
    ("console.routers.searches", False),
    ("console.routers.workspace", False),
    ("console.routers.reports", False),
    ("console.routers.users", False),
    ("console.routers.lists", False),
    ("console.routers.lists_pages", False),
    ("console.routers.sources", False),
    ("console.routers.sources_pages", False),
    ("console.routers.complaints", False),
    ("console.routers.complaints_pages", False),
    ("console.routers.public", True),
]
# Paths anyone may open (exact paths, or prefixes ending in "/").
PUBLIC_PATHS = ("/login", "/logout", "/healthz", "/metrics", "/static/", "/docs", "/docs/",
                "/openapi.json", "/favicon.ico")


def _include_routers(app: FastAPI) -> None:
    public: set[str] = set()
    for module_name, is_public in ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # not written yet
            raise
        router = getattr(module, "router", None)
        if router is None:
            continue
        app.include_router(router)
        if is_public:
            public.update(r.path for r in iter_routes(router.routes))
    app.state.public_routes = public


def iter_routes(routes: Any) -> Any:
    """Every route with a path, looking inside included routers (FastAPI keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from iter_routes(inner.routes)
        elif getattr(route, "path", None) is not None:
            yield route


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path in ("/openapi.json", "/metrics", "/healthz"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept


def _error_response(request: Request, status: int, kind: str, message: str, hint: str) -> Response:
    if _wants_html(request):
        from console.templating import render

        try:
            return render(request, "error.html",
                          {"status": status, "message": message, "hint": hint}, status_code=status)
        except Exception:  # noqa: BLE001 - the error page itself must never fail
            log.exception("error page failed")
            return HTMLResponse(f"<h1>{status}</h1>", status_code=status)
    return JSONResponse({"error": kind, "message": message, "hint": hint, "status": status}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QinglangError)
    async def _qinglang_error(request: Request, exc: QinglangError) -> Response:
        if isinstance(exc, NotSignedIn) and request.method == "GET" and _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return _error_response(request, exc.http_status, type(exc).__name__, exc.message, exc.hint)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        hints = {404: "check the address", 405: "this address does not accept that method",
                 413: "send a smaller file or request"}
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return _error_response(request, exc.status_code, "HTTPError", message, hints.get(exc.status_code, ""))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
            parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return _error_response(request, 422, "BadInput", "invalid request: " + "; ".join(parts),
                               "fix the named fields and send the request again")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, "InternalError", "the console hit an internal error",
                               "try again; if it keeps happening, the server log has the details")


def _install_infra_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=True, tags=["ops"])
    def healthz(request: Request) -> JSONResponse:
        svc: Services = request.app.state.services
        checks: dict[str, str] = {}
        try:
            with svc.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["db"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["db"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    try:
        import swagger_ui_bundle

        app.mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
        js, css = "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"
    except ImportError:  # pragma: no cover - dependency missing: plain links, still no CDN
        js = css = ""

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        if not js:
            return PlainTextResponse("OpenAPI: /openapi.json (install swagger-ui-bundle for the viewer)")
        return get_swagger_ui_html(openapi_url="/openapi.json", title="清朗 Qinglang API",
                                   swagger_js_url=js, swagger_css_url=css, swagger_favicon_url="/favicon.ico")


def create_app(services: Services | None = None, *, migrate: bool | None = None) -> FastAPI:
    """The console app. Without ``services`` it opens the configured ones.

    ``migrate`` (default: when the database is the embedded default in the data
    dir) applies every package's migrations first.
    """
    if services is None:
        services = Services(get_settings())
    if migrate is None:
        migrate = not services.settings.db
    if migrate:
        from qinglang.wiring import migrate_all

        services.settings.ensure_data_dir()
        migrate_all(services.settings.db_url)

    app = FastAPI(
        title="清朗 Qinglang console API",
        version="1",
        description="Alerts, hits, evidence, lists, complaints and sources. List responses are "
                    '`{"data": [...], "count": N}`; errors are `{"error", "message", "hint", "status"}`.',
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.services = services
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(ConsoleMiddleware, max_body=int(services.settings.max_upload_bytes))
    _install_error_handlers(app)
    _install_infra_routes(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    _include_routers(app)
    return app


def is_public(app: Any, path: str) -> bool:
    """True for routes anyone may open (used by the authorization tests)."""
    if path in getattr(app.state, "public_routes", set()):
        return True
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC_PATHS)
