"""The complaint API, desk pages and public form through the real console app.

Uses G's fixtures from tests/console/conftest.py (``client_as(role)``, ``client``).
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from console.app import create_app, iter_routes
from console.deps import Role
from tests.console.conftest import route_roles

ROLES = [r.value for r in Role]
HOSTILE = "<script>alert('x')</script>'; DROP TABLE complaint_cases; --"
PREFIXES = ("/api/complaints", "/complaints")


@pytest.fixture
def app(app_services):
    app_services.settings.max_upload_bytes = 4096
    app_services.settings.public_rate_limit_per_minute = 3
    return create_app(app_services)


def _case(c, **over) -> dict:
    body = {"channel": "hotline", "category": "vulgar", "target": "某台 某节目", "description": "节目低俗",
            "complainant": {"name": "张三", "phone": "13812345678"}}
    body.update(over)
    res = c.post("/api/complaints", json=body)
    assert res.status_code == 201, res.text
    return res.json()


def _routes(app):
    return [r for r in iter_routes(app.routes) if isinstance(r, APIRoute) and r.path.startswith(PREFIXES)]


def test_every_route_checks_roles(app):
    routes = _routes(app)
    assert len(routes) >= 15
    for r in routes:
        assert route_roles(r), f"{r.methods} {r.path} has no role check"


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, client_as, client, role):
    admin = client_as("admin", name="boss")
    case = _case(admin)
    c = client_as(role)
    for route in _routes(app):
        wanted = route_roles(route)
        allowed = role == "admin" or role in wanted
        path = route.path.replace("{case_id}", str(case["id"]))
        for method in route.methods:
            kwargs = {}
            if method == "POST":
                kwargs = {"json": {}} if "attachments" not in path and "upload" not in path else \
                    {"files": {"file": ("a.txt", b"x", "text/plain")}}
                if path.endswith("/act") or path.endswith("/new"):
                    kwargs = {"data": {"action": "nonexistent"}}
            res = c.request(method, path, **kwargs)
            if allowed:
                assert res.status_code not in (401, 403), (role, method, path, res.text)
            else:
                assert res.status_code == 403, (role, method, path, res.status_code)
            anon = client.request(method, path, headers={"accept": "application/json"}, **kwargs)
            assert anon.status_code in (401, 303), (method, path, anon.status_code)


def test_list_create_get_act_and_timeline(client_as):
    h = client_as("handler", name="zhang")
    case = _case(h)
    assert case["state"] == "registered" and "acceptance" in case["deadlines"]
    listed = h.get("/api/complaints", params={"queue": "all"}).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == case["id"]
    res = h.post(f"/api/complaints/{case['id']}/actions", json={"action": "accept"})
    assert res.status_code == 200 and res.json()["state"] == "accepted"
    res = h.post(f"/api/complaints/{case['id']}/actions", json={"action": "close"})
    assert res.status_code == 409 and res.json()["error"] == "Conflict"
    assert h.get(f"/api/complaints/{case['id']}").json()["state"] == "accepted"
    res = h.post(f"/api/complaints/{case['id']}/actions", json={"action": "reopen", "reason": "x"})
    assert res.status_code == 403
    tl = h.get(f"/api/complaints/{case['id']}/timeline").json()
    assert tl["chain_ok"] and [r["action"] for r in tl["data"]] == ["register", "accept"]
    assert tl["data"][1]["actor"] == "zhang"
    assert h.get("/api/complaints/stats").json()["total"] == 1
    assert h.get("/api/complaints/stats.csv").text.startswith("section,key,value")
    assert "tracking_code" in h.get("/api/complaints/export.csv").text
    assert h.get("/api/complaints", params={"queue": "nope"}).status_code == 422


def test_analyst_sees_masked_personal_data(client_as):
    case = _case(client_as("handler"))
    person = client_as("analyst").get(f"/api/complaints/{case['id']}").json()["complainants"][0]
    assert person["phone"] == "138****5678" and person["masked"] is True


def test_attachment_limits_413_415(client_as):
    h = client_as("handler")
    case = _case(h)
    url = f"/api/complaints/{case['id']}/attachments"
    ok = h.post(url, files={"file": ("shot.png", b"\x89PNG....", "image/png")})
    assert ok.status_code == 201 and len(ok.json()["sha256"]) == 64
    assert h.post(url, files={"file": ("x.exe", b"MZ", "application/x-msdownload")}).status_code == 415
    assert h.post(url, files={"file": ("big.txt", b"x" * 5000, "text/plain")}).status_code == 413


def test_csrf_required_for_cookie_writes(client_as):
    h = client_as("handler")
    res = h.post("/api/complaints", json={"channel": "hotline", "category": "vulgar", "target": "x",
                                          "description": "y"}, headers={"X-CSRF-Token": ""})
    assert res.status_code == 403


def test_hostile_input_stored_as_given_and_rendered_escaped(client_as):
    h = client_as("handler")
    case = _case(h, target=HOSTILE, description=HOSTILE, complainant={"name": HOSTILE})
    got = h.get(f"/api/complaints/{case['id']}").json()
    assert got["target"] == HOSTILE and got["description"] == HOSTILE
    page = h.get(f"/complaints/{case['id']}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    desk = h.get("/complaints", params={"queue": "all"})
    assert desk.status_code == 200 and "<script>alert" not in desk.text


def test_desk_pages_act_through_forms(client_as):
    h = client_as("handler")
    res = h.post("/complaints/new", data={"channel": "letter", "category": "gambling", "target": "某App",
                                          "description": "赌博广告", "csrf_token": h.csrf_token},
                 follow_redirects=False)
    assert res.status_code == 303
    cid = int(res.headers["location"].split("/")[2].split("?")[0])
    res = h.post(f"/complaints/{cid}/act", data={"action": "accept", "csrf_token": h.csrf_token},
                 follow_redirects=False)
    assert res.status_code == 303
    page = h.get(f"/complaints/{cid}")
    assert "accepted" in page.text and 'value="verify"' in page.text
    res = h.post(f"/complaints/{cid}/act", data={"action": "close", "csrf_token": h.csrf_token})
    assert res.status_code == 409 and "not allowed" in res.text


def _form_token(client) -> str:
    page = client.get("/public/complaints")
    assert page.status_code == 200 and "投诉" in page.text
    return re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)


def test_public_form_tracking_and_rate_limit(client):
    token = _form_token(client)
    data = {"category": "vulgar", "target": "某网站", "description": HOSTILE, "form_token": token}
    res = client.post("/public/complaints", data=data, headers={"accept": "application/json"})
    assert res.status_code == 201, res.text
    code = res.json()["tracking_code"]
    status = client.get("/public/track", params={"code": code}, headers={"accept": "application/json"}).json()
    assert status["state"] == "registered" and status["tracking_code"] == code
    page = client.get("/public/track", params={"code": code})
    assert code in page.text and "已登记" in page.text
    html = client.post("/public/complaints", data=data)
    assert html.status_code == 201 and "QL-" in html.text
    assert client.post("/public/complaints", data=data).status_code == 201
    assert client.post("/public/complaints", data=data).status_code == 429


def test_public_form_needs_its_token(client):
    _form_token(client)
    res = client.post("/public/complaints", data={"category": "vulgar", "target": "x", "description": "y",
                                                  "form_token": "forged"}, headers={"accept": "application/json"})
    assert res.status_code == 403
    res = client.post("/public/complaints", data={"category": "vulgar", "target": "x", "description": "y",
                                                  "form_token": _form_token(client)},
                      headers={"accept": "application/json", "origin": "https://evil.example"})
    assert res.status_code == 403
