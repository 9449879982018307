"""The app shell: errors without stack traces, security headers, size limit, health, metrics, OpenAPI."""

from __future__ import annotations


def test_healthz_metrics_openapi_docs(client):
    assert client.get("/healthz").json()["status"] == "ok"
    client.get("/healthz")
    metrics = client.get("/metrics").text
    assert "qinglang_console_requests_total" in metrics and 'route="/healthz"' in metrics
    spec = client.get("/openapi.json").json()
    for path in ("/api/alerts", "/api/alerts/{alert_id}", "/api/hits", "/api/hits/export.csv", "/healthz"):
        assert path in spec["paths"], path
    docs = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_security_headers(client):
    r = client.get("/login")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_errors_are_json_with_hint_and_no_trace(client_as):
    c = client_as("analyst")
    r = c.get("/api/hits", params={"size": 0})
    body = r.json()
    assert r.status_code == 422 and body["error"] == "BadInput" and body["hint"] and "size" in body["message"]
    r = c.get("/api/nowhere")
    assert r.status_code == 404 and r.json()["status"] == 404
    assert "Traceback" not in r.text


def test_request_size_limit(app, client_as, app_services):
    app_services.settings.max_upload_bytes = 1000  # the middleware read it at creation: build anew
    from fastapi.testclient import TestClient

    from console.app import create_app

    small = create_app(app_services)
    with TestClient(small) as c:
        r = c.post("/login", content=b"x" * 5000, headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413 and "hint" in r.json()

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"y" * 500

        r = c.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded",
                                                          "accept": "application/json"})
        assert r.status_code == 413


def test_language_switch(client):
    assert "登录" in client.get("/login").text
    r = client.get("/login", params={"lang": "en"})
    assert "Sign in" in r.text and r.cookies.get("qinglang_lang") == "en"
    assert "Sign in" in client.get("/login").text  # the cookie keeps it


def test_alert_sound_is_a_short_wav(client):
    import io
    import wave

    r = client.get("/static/beep.wav")
    assert r.status_code == 200 and r.headers["content-type"] in ("audio/wav", "audio/x-wav")
    with wave.open(io.BytesIO(r.content)) as w:
        assert 0.1 < w.getnframes() / w.getframerate() < 1.0
    assert client.get("/static/app.js").status_code == 200 and client.get("/static/app.css").status_code == 200
