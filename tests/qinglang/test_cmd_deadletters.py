"""`qinglang deadletters list|replay` on the embedded bus of a temporary data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.events import Sample, Topic, utcnow
from core.services import Services
from core.settings import get_settings
from qinglang.cli import app
from stream_jobs.handlers import dead_letter

pytestmark = pytest.mark.usefixtures("data_dir")
runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _letter() -> str:
    sample = Sample(id="smp-cli1", source_id="src-cli", kind="page", captured_at=utcnow(), text="正常内容")
    topic, key, value = dead_letter(Topic.SAMPLES.value, "src-cli", sample.to_json(), "samples", "a bug, since fixed")
    services = Services(get_settings())
    try:
        services.bus.produce(topic, key, value)
    finally:
        services.close()
    return str(value["id"])


def test_list_and_replay() -> None:
    assert "no dead letters" in runner.invoke(app, ["deadletters", "list"]).output
    dl_id = _letter()
    listed = runner.invoke(app, ["deadletters", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines() if line.strip()]
    assert [r["id"] for r in rows] == [dl_id] and rows[0]["reason"] == "a bug, since fixed"

    dry = runner.invoke(app, ["deadletters", "replay", "--all", "--dry-run", "--json"])
    assert json.loads(dry.output) == {"replayed": [dl_id], "skipped": {}, "dry_run": True}
    done = runner.invoke(app, ["deadletters", "replay", "--id", dl_id, "--json"])
    assert json.loads(done.output)["replayed"] == [dl_id]
    services = Services(get_settings())
    try:
        with services.bus.consumer("check", [Topic.SAMPLES.value]) as c:
            assert [r.value["id"] for r in c.poll(max_records=10, timeout=5)] == ["smp-cli1"]
    finally:
        services.close()


def test_replay_without_ids_says_how() -> None:
    _letter()
    proc = subprocess.run([sys.executable, "-m", "qinglang", "deadletters", "replay"], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert proc.returncode != 0
    assert "--all" in proc.stderr and "Traceback" not in proc.stderr
