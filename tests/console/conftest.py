"""Console fixtures: a migrated data dir, the app, anonymous and signed-in clients.

``client_as("operator")`` (or ``client_as(["handler", "analyst"], name="zhang")``)
returns a TestClient signed in as a fresh account with those roles; it sends
the session's CSRF token as ``X-CSRF-Token`` by default (``client.csrf_token``).
``plant(**fields)`` indexes a hit and folds it into an alert: returns (hit, alert).
``route_roles(route)`` is the roles a route demands (None: no role check).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from console.app import create_app
from console.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, session_token
from console.users import UserService
from core.alerts import AlertStore
from core.events import Evidence, Hit, make_id
from core.services import Services

PASSWORD = "correct-horse-9"
_names = itertools.count(1)


@pytest.fixture
def app_services(migrated_services: Services) -> Services:
    """The services of the app under test (tests/conftest.py: a migrated data dir in tmp_path)."""
    return migrated_services


@pytest.fixture
def app(app_services):
    return create_app(app_services, migrate=False)  # the fixture migrated already


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client_as(app, app_services) -> Callable[..., TestClient]:
    opened: list[TestClient] = []

    def make(roles: str | list[str], name: str | None = None) -> TestClient:
        roles = [roles] if isinstance(roles, str) else list(roles)
        name = name or f"{'-'.join(roles)}-{next(_names)}".replace("_", "-")
        users = UserService(app_services.db)
        try:
            user = users.create(name, PASSWORD, roles)
        except Exception:
            user = users.set_roles(name, roles)
        value, csrf = session_token(app, user)
        c = TestClient(app, headers={CSRF_HEADER: csrf})
        c.cookies.set(SESSION_COOKIE, value)
        c.cookies.set(CSRF_COOKIE, csrf)
        c.csrf_token = csrf  # type: ignore[attr-defined]
        c.user = user  # type: ignore[attr-defined]
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


def route_roles(route: APIRoute) -> tuple[str, ...] | None:
    """The roles a route's dependencies demand (None: no role check at all)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "qinglang_roles", None)
        if roles is not None:
            return tuple(roles)
        stack.extend(dep.dependencies)
    return None


def make_hit(**fields: Any) -> Hit:
    n = next(_names)
    base: dict[str, Any] = {
        "sample_id": f"smp-{n}", "source_id": "src-cctv", "detector": "keyword", "list_name": "negative",
        "list_id": "lst-1", "entry_id": f"ent-{n}", "list_version": 3, "term": "赌博网站",
        "matched": "赌博网站", "category": "gambling", "severity": "high",
        "detected_at": datetime.now(UTC) - timedelta(seconds=n),
        "text": "主持人说这里有赌博网站请大家注意", "origin": "asr", "platform": "iptv",
        "evidence": Evidence(snippet="这里有赌博网站请大家", start=3, end=7, media_start=12.5, media_end=15.0),
    }
    base.update(fields)
    base.setdefault("id", make_id("hit", base["sample_id"], base["term"], n))
    return Hit(**base)


@pytest.fixture
def plant(app_services):
    store = AlertStore(app_services.db)

    def do(**fields: Any):
        hit = make_hit(**fields)
        app_services.index.upsert([hit.to_json()])
        alert = store.fold(hit)
        return hit, alert

    return do
