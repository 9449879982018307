"""`qinglang db upgrade` / `qinglang db status` on a fresh SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qinglang.cli import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("data_dir")


def test_status_then_upgrade_then_status(data_dir: Path) -> None:
    before = runner.invoke(app, ["db", "status", "--json"])
    assert before.exit_code == 0, before.output
    state = json.loads(before.stdout)
    assert state["current"] == [] and state["heads"] and not state["up_to_date"]
    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    after = json.loads(runner.invoke(app, ["db", "status", "--json"]).stdout)
    assert after["up_to_date"] and sorted(after["current"]) == sorted(state["heads"])
    assert (data_dir / "qinglang.db").is_file()
    again = runner.invoke(app, ["db", "upgrade"])  # idempotent
    assert again.exit_code == 0, again.output
    text = runner.invoke(app, ["db", "status"])
    assert "up to date" in text.stdout
