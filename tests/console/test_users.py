"""Accounts: argon2 hashes, roles, disable, saved searches; on SQLite and (QINGLANG_TEST_PG) PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest

from console.users import UserService
from core.db import Database
from core.errors import BadInput, Conflict, NotFound
from qinglang.wiring import migrate_all


def _sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    migrate_all(url)
    return Database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    if request.param == "sqlite":
        d = _sqlite(tmp_path)
        yield d
        d.dispose()
        return
    url = os.environ.get("QINGLANG_TEST_PG")
    if not url:
        pytest.skip("set QINGLANG_TEST_PG to a PostgreSQL URL")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    scoped = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    migrate_all(scoped)
    d = Database(scoped)
    yield d
    d.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_passwords_are_argon2_and_verify(db):
    users = UserService(db)
    u = users.create("chen", "a-good-password", ["operator", "handler"])
    assert u.roles == ["operator", "handler"] and u.has("handler") and not u.has("admin")
    from sqlalchemy import text

    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM console_users WHERE name='chen'")).scalar()
    assert stored.startswith("$argon2") and "a-good-password" not in stored
    assert users.authenticate("chen", "a-good-password").name == "chen"
    assert users.authenticate("chen", "wrong-password") is None
    assert users.authenticate("nobody", "a-good-password") is None


def test_admin_holds_every_role_and_roles_are_checked(db):
    users = UserService(db)
    boss = users.create("boss", "a-good-password", ["admin"])
    assert boss.has("operator") and boss.has("list_admin")
    with pytest.raises(BadInput):
        users.create("x", "a-good-password", ["overlord"])
    with pytest.raises(BadInput):
        users.create("bad name!", "a-good-password", ["operator"])
    with pytest.raises(Conflict):
        users.create("boss", "another-password", ["operator"])
    with pytest.raises(NotFound):
        users.set_roles("ghost", ["operator"])


def test_disable_and_password_change_bump_session_version(db):
    users = UserService(db)
    u = users.create("he", "a-good-password", ["analyst"])
    v = users.set_password("he", "a-new-password").session_version
    assert v > u.session_version and users.authenticate("he", "a-new-password")
    assert users.set_disabled("he").session_version > v
    assert users.authenticate("he", "a-new-password") is None


def test_saved_searches_belong_to_one_user(db):
    users = UserService(db)
    a = users.create("a1", "a-good-password", ["analyst"])
    b = users.create("b1", "a-good-password", ["analyst"])
    s = users.save_search(a.id, "赌博", "?q=赌博")
    assert users.saved_searches(a.id)[0]["query"] == "q=赌博" and users.saved_searches(b.id) == []
    with pytest.raises(NotFound):
        users.delete_search(b.id, s["id"])
    users.delete_search(a.id, s["id"])
    assert users.saved_searches(a.id) == []
