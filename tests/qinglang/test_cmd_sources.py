"""`qinglang sources import/ls/add/enable/disable/run` against a fresh data dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qinglang.cmd_sources import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("data_dir")


def test_import_ls_toggle_and_run(tmp_path: Path) -> None:
    feed = tmp_path / "c.jsonl"
    feed.write_text('{"id": "1", "text": "评论一"}\n{oops\n{"id": "2", "text": "评论二"}\n', encoding="utf-8")
    csv = tmp_path / "register.csv"
    csv.write_text("kind,name,operator,licence,locator,tags\n"
                   f"comments,弹幕,平台,A-1,{feed},jiangsu-related\n"
                   "website,,平台,A-2,http://x/,\n", encoding="utf-8")
    r = runner.invoke(app, ["import", str(csv), "--json"])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    sid = lines[0]["imported"]
    assert lines[1] == {"line": 3, "error": "missing name"}
    listed = [json.loads(x) for x in runner.invoke(app, ["ls", "--json"]).stdout.splitlines()]
    assert [x["id"] for x in listed] == [sid] and listed[0]["tags"] == ["jiangsu-related"]
    assert json.loads(runner.invoke(app, ["disable", sid, "--json"]).stdout)["enabled"] is False
    assert runner.invoke(app, ["ls", "--enabled", "--json"]).stdout.strip() == ""
    assert json.loads(runner.invoke(app, ["enable", sid, "--json"]).stdout)["enabled"] is True
    run = runner.invoke(app, ["run", sid, "--json"])
    assert run.exit_code == 0, run.output
    samples = [json.loads(x) for x in run.stdout.splitlines()]
    assert [s["text"] for s in samples] == ["评论一", "评论二"] and {s["kind"] for s in samples} == {"comment"}
    health = json.loads(runner.invoke(app, ["ls", "--json"]).stdout)["health"]
    assert health["samples_total"] == 2 and health["errors_total"] == 1 and "line 2" in health["last_error"]
    added = runner.invoke(app, ["add", "--kind", "website", "--name", "站", "--locator", "http://y/",
                                "--options", '{"depth": 2}', "--json"])
    assert added.exit_code == 0 and json.loads(added.stdout)["options"] == {"depth": 2}


def test_errors_are_messages_not_tracebacks(data_dir: Path) -> None:
    env_cmd = [sys.executable, "-m", "qinglang", "sources", "run", "src-nope"]
    import os

    p = subprocess.run(env_cmd, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "QINGLANG_DATA_DIR": str(data_dir)})
    assert p.returncode == 3 and "does not exist" in p.stderr and "Traceback" not in p.stderr
