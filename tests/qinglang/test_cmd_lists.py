"""`qinglang lists …` on a fresh data dir (the database is migrated on first use)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import BadInput, NotFound
from qinglang.cli import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("data_dir")


def run(*args: str):
    return runner.invoke(app, ["lists", *args])


def test_import_txt_reports_rejected_lines_and_exports_back(tmp_path: Path) -> None:
    f = tmp_path / "words.txt"
    f.write_text("赌博\n\n六合彩\n賭博\n★★\n网络赌场\n", encoding="utf-8")
    r = run("import", str(f), "--list", "gamble", "--kind", "keyword", "--category", "gambling", "--severity", "high",
            "--user", "alice", "--reason", "campaign")
    assert r.exit_code == 0, r.output
    assert "3 added" in r.stdout
    assert "line 2: blank line" in r.stdout
    assert "line 4: duplicate of line 1" in r.stdout
    assert "line 5: only noise" in r.stdout
    exported = run("export", "--list", "gamble")
    assert exported.exit_code == 0
    assert exported.stdout == "赌博\n六合彩\n网络赌场\n"
    out = tmp_path / "g.csv"
    assert run("export", "--list", "gamble", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("term,category,severity,tags")


def test_import_csv_json_report(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("term,category,severity\n黄片,pornography,high\n黄片,pornography,low\n", encoding="utf-8")
    r = run("import", str(f), "--list", "porn", "--kind", "keyword", "--category", "pornography", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["added"] == 1 and rep["rejected"][0]["line"] == 3
    assert "conflicting duplicate" in rep["rejected"][0]["reason"]


def test_ls_show_enable_disable_entry_disable_allow_history(tmp_path: Path) -> None:
    f = tmp_path / "w.txt"
    f.write_text("赌博\n六合彩\n", encoding="utf-8")
    assert run("import", str(f), "--list", "g", "--kind", "keyword", "--category", "gambling").exit_code == 0
    ls = json.loads(run("ls", "--json").stdout.splitlines()[0])
    assert (ls["name"], ls["entries"], ls["version"]) == ("g", 2, 2)
    assert run("disable", "g", "--reason", "review").exit_code == 0
    assert json.loads(run("ls", "--json").stdout)["enabled"] is False
    assert run("enable", "g").exit_code == 0
    r = run("entry-disable", "g", "赌博", "--user", "bob", "--reason", "too broad")
    assert r.exit_code == 0, r.output
    shown = json.loads(run("show", "g", "--json").stdout)
    assert {e["term"]: e["enabled"] for e in shown["entries_shown"]} == {"赌博": False, "六合彩": True}
    assert run("allow", "三黄片", "--list", "g").exit_code == 0
    hist = [json.loads(x) for x in run("history", "g", "--json").stdout.splitlines()]
    assert [h["action"] for h in hist] == ["allow", "disable-entry", "update", "update", "import", "create"]
    assert hist[1]["user"] == "bob" and hist[1]["reason"] == "too broad"
    assert "赌博" in run("show", "g").stdout


def test_bad_input_is_an_error_not_a_trace(tmp_path: Path) -> None:
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("赌博\n".encode("gbk"))
    r = run("import", str(bad), "--list", "g", "--kind", "keyword")
    assert isinstance(r.exception, BadInput) and "UTF-8" in r.exception.message and r.exception.hint
    r = run("import", str(tmp_path / "missing.txt"), "--list", "g", "--kind", "keyword")
    assert isinstance(r.exception, BadInput)
    r = run("show", "nope")
    assert isinstance(r.exception, NotFound)


def test_every_command_has_an_example() -> None:
    r = run("--help")
    assert "Example" in r.stdout
    for cmd in ("import", "export", "ls", "show", "enable", "disable", "entry-disable", "allow", "history", "set"):
        h = run(cmd, "--help")
        assert h.exit_code == 0 and "Example" in h.stdout, cmd


def test_set_options_changes_matching(tmp_path: Path) -> None:
    f = tmp_path / "w.txt"
    f.write_text("赌博\n", encoding="utf-8")
    assert run("import", str(f), "--list", "g", "--kind", "keyword", "--category", "gambling").exit_code == 0
    assert json.loads(runner.invoke(app, ["match", "賭博", "--json"]).stdout)["term"] == "赌博"
    r = run("set", "g", "t2s=false", "noise_gap=1", "--reason", "strict")
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["match", "賭博", "--json"]).stdout == ""
    assert json.loads(run("ls", "--json").stdout)["options"]["noise_gap"] == 1
    bad = run("set", "g", "t2s=maybe")
    assert isinstance(bad.exception, BadInput)


def test_import_fingerprint_clip_goes_through_the_fingerprint_importer(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to make the test clip")
    clip = tmp_path / "banned.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=160x120:r=10:d=2",
                    "-pix_fmt", "yuv420p", str(clip)], check=True, timeout=60)  # fmt: skip
    r = run("import", str(clip), "--list", "clips", "--kind", "fingerprint", "--json", "--reason", "ban")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["frames"] > 0 and summary["version"] == 2
    shown = json.loads(run("show", "clips", "--json").stdout)
    assert shown["kind"] == "fingerprint" and shown["entries_shown"][0]["term"] == "banned.mp4"
