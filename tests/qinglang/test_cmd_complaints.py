"""`qinglang complaints` end to end in a temporary data dir (SQLite)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qinglang.cli import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("data_dir")


def _run(*args: str):
    return runner.invoke(app, ["complaints", *args])


def _add(*extra: str) -> dict:
    res = _run("add", "--channel", "hotline", "--category", "vulgar", "--target", "某台 某节目",
               "--description", "节目内容低俗", "--received-at", "2026-09-29T09:00:00+08:00",
               "--complainant", "张三", "--contact", "13812345678", "--json", *extra)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_add_act_show():
    case = _add()
    assert case["state"] == "registered" and case["deadlines"]["acceptance"] == "2026-10-14"
    assert isinstance(case["id"], int)
    res = _run("act", str(case["id"]), "accept", "--json", "--user", "wang", "--role", "handler")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["state"] == "accepted"
    res = _run("show", str(case["id"]), "--json")
    shown = json.loads(res.stdout)
    assert shown["state"] == "accepted" and "conclusion" in shown["deadlines"]
    assert shown["complainants"][0]["phone"] == "13812345678"
    res = _run("verify-audit", str(case["id"]))
    assert res.exit_code == 0 and json.loads(res.stdout)["ok"] is True


def test_cli_user_is_audited():
    case = _add("--user", "hotline-desk-3")
    _run("act", str(case["id"]), "reject", "--reason", "out_of_scope", "--user", "wang")
    shown = json.loads(_run("show", str(case["id"]), "--json").stdout)
    assert shown["registered_by"] == "hotline-desk-3" and shown["state"] == "rejected"


def test_illegal_action_exits_non_zero_with_reason():
    case = _add()
    res = _run("act", str(case["id"]), "close", "--json")
    assert res.exit_code != 0
    assert "not allowed in state 'registered'" in res.output
    assert json.loads(_run("show", str(case["id"]), "--json").stdout)["state"] == "registered"
    res = _run("act", str(case["id"]), "extend", "--reason", "x", "--days", "5", "--role", "handler")
    assert res.exit_code != 0 and "supervisor" in res.output


@pytest.mark.parametrize("args, words", [
    (["add", "--channel", "fax", "--category", "vulgar", "--target", "x", "--description", "y"], "channel"),
    (["add", "--channel", "web", "--category", "nope", "--target", "x", "--description", "y"], "category"),
    (["add", "--channel", "web", "--category", "vulgar", "--target", "x", "--description", "y",
      "--received-at", "last tuesday"], "ISO-8601"),
    (["act", "1", "dance"], "unknown action"),
    (["show", "42"], "no complaint case 42"),
    (["ls", "--queue", "someday"], "unknown queue"),
])
def test_bad_input_gives_clear_error(args, words):
    res = _run(*args)
    assert res.exit_code != 0 and words in res.output
    assert "Traceback" not in res.output


def test_units_ls_stats():
    assert _run("units", "add", "nj", "南京市局", "--kind", "city_bureau").exit_code == 0
    res = _run("units", "ls", "--json")
    assert json.loads(res.stdout.splitlines()[0])["code"] == "nj"
    case = _add()
    res = _run("ls", "--queue", "overdue", "--json")
    assert [json.loads(line)["id"] for line in res.stdout.splitlines()] == [case["id"]]
    res = _run("stats", "--csv")
    assert res.exit_code == 0 and "by_channel,hotline,1" in res.stdout
    res = _run("escalate", "--json")
    assert json.loads(res.stdout.splitlines()[0])["deadline"] == "acceptance"
