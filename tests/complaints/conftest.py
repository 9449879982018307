"""Case-store fixtures: SQLite always; PostgreSQL too when QINGLANG_TEST_PG is a SQLAlchemy URL."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from complaints.service import Actor, CaseService
from core.blobs import open_blobs
from core.db import Database
from core.settings import reset_settings_cache
from qinglang.wiring import migrate_all

_PG = os.environ.get("QINGLANG_TEST_PG")
BACKENDS = ["sqlite"] + ([pytest.param("postgres", marks=pytest.mark.postgres)] if _PG else [])


def _pg_schema_url(base: str) -> tuple[str, str]:
    """A fresh schema in the test database, so tests never see each other's rows."""
    schema = "t_" + uuid.uuid4().hex[:12]
    eng = create_engine(base)
    with eng.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path, monkeypatch):
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path))
    reset_settings_cache()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cases.db'}"
        schema = None
    else:
        url, schema = _pg_schema_url(_PG)  # type: ignore[arg-type]
    migrate_all(url)
    database = Database(url)
    yield database
    database.dispose()
    if schema:
        eng = create_engine(_PG)  # type: ignore[arg-type]
        with eng.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        eng.dispose()
    reset_settings_cache()


@pytest.fixture
def blobs(tmp_path):
    return open_blobs(f"file://{tmp_path / 'blobs'}")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(datetime(2026, 9, 28, 2, 0, tzinfo=UTC))


@pytest.fixture
def svc_for(db, blobs, clock):
    """svc_for("handler") → a CaseService acting as a user with that role."""

    def make(*roles: str, name: str | None = None, **kw):
        return CaseService(db, blobs, actor=Actor(name or roles[0], frozenset(roles)), clock=clock, **kw)

    return make


@pytest.fixture
def handler(svc_for):
    return svc_for("handler", name="zhang")


@pytest.fixture
def supervisor(svc_for):
    return svc_for("supervisor", name="li")


def new_case(svc, **over):
    data = dict(channel="hotline", category="vulgar", target="某平台 某节目",
                description="节目中出现低俗内容，请核查", complainant={"name": "张三", "phone": "13812345678"})
    data.update(over)
    return svc.register(**data)
