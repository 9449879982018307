"""`qinglang users create/ls/set-roles/disable` against a fresh data dir."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qinglang.cmd_users import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("data_dir")


def test_create_ls_set_roles_disable() -> None:
    r = runner.invoke(app, ["create", "admin", "--role", "admin", "--password", "first-admin-pw", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["roles"] == ["admin"]
    r = runner.invoke(app, ["create", "zhang", "-r", "operator,handler"], input="pass-word-1\npass-word-1\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["set-roles", "zhang", "-r", "analyst", "--json"])
    assert json.loads(r.stdout)["roles"] == ["analyst"]
    r = runner.invoke(app, ["disable", "zhang", "--json"])
    assert json.loads(r.stdout)["disabled"] is True
    r = runner.invoke(app, ["ls", "--json"])
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(u["name"], u["disabled"]) for u in rows] == [("admin", False), ("zhang", True)]

    from console.users import UserService
    from core.services import Services
    from core.settings import get_settings

    users = UserService(Services(get_settings()).db)
    assert users.authenticate("admin", "first-admin-pw") is not None
    assert users.authenticate("zhang", "pass-word-1") is None  # disabled


def test_bad_input_is_a_clear_error() -> None:
    from core.errors import BadInput, Conflict

    r = runner.invoke(app, ["create", "x", "--role", "wizard", "--password", "long-enough-1"])
    assert isinstance(r.exception, BadInput) and "wizard" in r.exception.message
    r = runner.invoke(app, ["create", "x", "--role", "admin", "--password", "short"])
    assert isinstance(r.exception, BadInput) and r.exception.hint
    runner.invoke(app, ["create", "x", "--role", "admin", "--password", "long-enough-1"])
    r = runner.invoke(app, ["create", "x", "--role", "admin", "--password", "long-enough-1"])
    assert isinstance(r.exception, Conflict)
