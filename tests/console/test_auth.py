"""Sign-in, sessions, CSRF, rate limiting, and the authorization matrix over every route."""

from __future__ import annotations

import base64
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from console.app import is_public, iter_routes
from console.auth import CSRF_HEADER
from console.deps import Role
from console.users import UserService
from tests.console.conftest import PASSWORD, route_roles

ROLES = [r.value for r in Role]


def concrete(path: str) -> str:
    path = re.sub(r"\{[^}]*_id\}", "1", path)
    path = re.sub(r"\{[^}]+\}", "x", path)
    return path + ("?max_seconds=0.2" if path.endswith("/stream") else "")


def protected_routes(app):
    out = []
    for route in iter_routes(app.routes):
        if not isinstance(route, APIRoute) or is_public(app, route.path):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            out.append((route, method))
    return out


def call(client: TestClient, method: str, path: str):
    return client.request(method, concrete(path), follow_redirects=False)


def test_every_non_public_route_checks_a_role(app):
    missing = [f"{m} {r.path}" for r, m in protected_routes(app) if route_roles(r) is None]
    assert not missing, f"routes without a role check: {missing}"
    assert len(protected_routes(app)) >= 15


def test_authorization_matrix(app, client, client_as):
    clients = {role: client_as(role) for role in ROLES}
    failures = []
    for route, method in protected_routes(app):
        allowed = route_roles(route) or ()
        r = call(client, method, route.path)
        page = not route.path.startswith("/api/")
        anon_ok = r.status_code == 401 or (page and method == "GET" and r.status_code == 303
                                           and r.headers["location"].startswith("/login"))
        if not anon_ok:
            failures.append(f"anonymous {method} {route.path} -> {r.status_code}")
        for role, c in clients.items():
            r = call(c, method, route.path)
            may = role == "admin" or not allowed or role in allowed
            if may and r.status_code in (401, 403):
                failures.append(f"{role} {method} {route.path} -> {r.status_code} (should be allowed)")
            if not may and r.status_code != 403:
                failures.append(f"{role} {method} {route.path} -> {r.status_code} (should be 403)")
    assert not failures, "\n".join(failures)


def test_login_form_sets_session_and_redirects(client, app_services):
    UserService(app_services.db).create("wang", PASSWORD, ["operator"])
    r = client.post("/login", data={"username": "wang", "password": PASSWORD, "next": "/alerts"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/alerts"
    assert "qinglang_session" in r.cookies
    set_cookie = "; ".join(r.headers.get_list("set-cookie")).lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    assert client.get("/api/alerts").status_code == 200


def test_login_rejects_wrong_password_and_open_redirect(client, app_services):
    UserService(app_services.db).create("li", PASSWORD, ["operator"])
    r = client.post("/login", data={"username": "li", "password": "wrong-password"}, follow_redirects=False)
    assert r.status_code == 401 and "账号或密码错误" in r.text
    r = client.post("/login", data={"username": "li", "password": PASSWORD, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_login_rate_limit(client, app_services):
    UserService(app_services.db).create("zhao", PASSWORD, ["operator"])
    codes = [client.post("/login", data={"username": "zhao", "password": f"bad-{i}-pass"}).status_code
             for i in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    # even the right password is refused while the limit holds
    r = client.post("/login", data={"username": "zhao", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 429


def test_csrf_required_for_cookie_writes(client_as, plant):
    _, alert = plant()
    c = client_as("operator")
    url = f"/api/alerts/{alert.id}/actions"
    r = c.post(url, json={"action": "acknowledge"}, headers={CSRF_HEADER: ""})
    assert r.status_code == 403 and "CSRF" in r.json()["message"]
    r = c.post(url, json={"action": "acknowledge"}, headers={CSRF_HEADER: "forged-token"})
    assert r.status_code == 403
    assert c.get(f"/api/alerts/{alert.id}").json()["alert"]["state"] == "new"
    r = c.post(url, json={"action": "acknowledge"})  # the fixture sends the right token
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"


def test_csrf_form_field_accepted(client_as, plant):
    _, alert = plant()
    c = client_as("operator")
    r = c.post(f"/alerts/{alert.id}/act", data={"action": "escalate"}, headers={CSRF_HEADER: ""},
               follow_redirects=False)
    assert r.status_code == 403
    r = c.post(f"/alerts/{alert.id}/act", data={"action": "escalate", "csrf_token": c.csrf_token},
               headers={CSRF_HEADER: ""}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get(f"/api/alerts/{alert.id}").json()["alert"]["state"] == "escalated"


def test_basic_auth_for_scripts_needs_no_csrf(client, app_services, plant):
    _, alert = plant()
    UserService(app_services.db).create("script", PASSWORD, ["operator"])
    auth = "Basic " + base64.b64encode(f"script:{PASSWORD}".encode()).decode()
    r = client.post(f"/api/alerts/{alert.id}/actions", json={"action": "acknowledge"},
                    headers={"Authorization": auth})
    assert r.status_code == 200
    bad = "Basic " + base64.b64encode(b"script:nope-nope").decode()
    assert client.get("/api/alerts", headers={"Authorization": bad}).status_code == 401


def test_disable_and_role_change_end_sessions(client_as, app_services):
    c = client_as("operator", name="sun")
    assert c.get("/api/alerts").status_code == 200
    UserService(app_services.db).set_roles("sun", ["analyst"])
    assert c.get("/api/alerts").status_code == 401  # the old session is void
    c2 = client_as("analyst", name="sun")
    assert c2.get("/api/hits").status_code == 200
    UserService(app_services.db).set_disabled("sun")
    assert c2.get("/api/hits").status_code == 401


def test_logout_ends_session(client_as):
    c = client_as("analyst")
    r = c.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/hits").status_code == 401


def test_tampered_cookie_is_anonymous(client_as):
    c = client_as("admin")
    value = c.cookies.get("qinglang_session")
    c.cookies.set("qinglang_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert c.get("/api/users").status_code == 401


@pytest.mark.parametrize("path", ["/alerts", "/search", "/admin/users"])
def test_pages_redirect_to_login(client, path):
    r = client.get(path, follow_redirects=False, headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
