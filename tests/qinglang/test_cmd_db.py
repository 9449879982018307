"""`qinglang db upgrade` / `qinglang db status` on a fresh SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import reset_settings_cache
from qinglang.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("QINGLANG_CONFIG", raising=False)
    monkeypatch.delenv("QINGLANG_DB", raising=False)
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path / "data"))
    reset_settings_cache()
    yield tmp_path / "data"
    reset_settings_cache()


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
