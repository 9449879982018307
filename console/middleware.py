"""Pure ASGI middleware: security headers, request-size limit, Prometheus metrics.

Pure ASGI (not BaseHTTPMiddleware) so server-sent event streams pass untouched.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import HTTPException
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("qinglang_console_requests_total", "HTTP requests answered by the console",
                   ["method", "route", "status"])
LATENCY = Histogram("qinglang_console_request_seconds", "Console request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10))
IN_FLIGHT = Gauge("qinglang_console_requests_in_flight", "Console requests being answered")

_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
# Swagger UI (served from the swagger-ui-bundle package, never a CDN) needs an inline bootstrap.
_CSP_DOCS = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
             "script-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'")

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class ConsoleMiddleware:
    def __init__(self, app: Any, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        started = time.perf_counter()
        status = {"code": 500}

        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_body
                except ValueError:
                    too_big = False
                if too_big:
                    await self._too_large(send)
                    REQUESTS.labels(scope["method"], "unmatched", "413").inc()
                    return

        seen = {"n": 0}

        async def limited_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                seen["n"] += len(message.get("body", b""))
                if seen["n"] > self.max_body:
                    raise HTTPException(413, f"request body larger than {self.max_body} bytes")
            return message

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in _HEADERS:
                    if k not in present:
                        headers.append((k, v))
                if b"content-security-policy" not in present:
                    csp = _CSP_DOCS if path.startswith("/docs") else _CSP
                    headers.append((b"content-security-policy", csp.encode()))
                message = {**message, "headers": headers}
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, limited_receive, send_with_headers)
        finally:
            IN_FLIGHT.dec()
            route = scope.get("route")
            label = getattr(route, "path", None) or ("static" if path.startswith("/static") else "unmatched")
            REQUESTS.labels(scope["method"], label, str(status["code"])).inc()
            if not label.endswith("/stream"):
                LATENCY.labels(scope["method"], label).observe(time.perf_counter() - started)

    async def _too_large(self, send: Any) -> None:
        body = (b'{"error":"RequestTooLarge","message":"request body larger than %d bytes",'
                b'"hint":"send a smaller file or request","status":413}' % self.max_body)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), *_HEADERS]})
        await send({"type": "http.response.body", "body": body})
