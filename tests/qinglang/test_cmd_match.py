"""`qinglang match TEXT --json` / `--file`: the JSON-lines contract of DESIGN.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import BadInput
from qinglang.cli import app

runner = CliRunner()
CONTRACT = {"list", "entry_id", "term", "matched", "start", "end", "category", "severity", "rules"}


pytestmark = pytest.mark.usefixtures("data_dir")


def _import(tmp_path: Path) -> None:
    f = tmp_path / "w.txt"
    f.write_text("赌博网站\n六合彩\n", encoding="utf-8")
    r = runner.invoke(app, ["lists", "import", str(f), "--list", "gamble", "--kind", "keyword",
                            "--category", "gambling", "--severity", "high"])  # fmt: skip
    assert r.exit_code == 0, r.output


def test_match_text_json_contract(tmp_path: Path) -> None:
    _import(tmp_path)
    text = "这里有賭 博網站，还有⑥合彩"
    r = runner.invoke(app, ["match", text, "--json"])
    assert r.exit_code == 0, r.output
    hits = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(hits) == 2
    for h in hits:
        assert CONTRACT <= set(h)
        assert text[h["start"] : h["end"]] == h["matched"]
    assert (hits[0]["term"], hits[0]["matched"], hits[0]["start"], hits[0]["end"]) == ("赌博网站", "賭 博網站", 3, 8)
    assert hits[0]["rules"] == ["noise", "t2s"] and hits[0]["category"] == "gambling" and hits[0]["severity"] == "high"
    assert hits[1]["term"] == "六合彩" and "numeral" in hits[1]["rules"]


def test_match_file_offsets_and_no_hits(tmp_path: Path) -> None:
    _import(tmp_path)
    f = tmp_path / "t.txt"
    body = "天" * 300_000 + "六合彩" + "地" * 10
    f.write_text(body, encoding="utf-8")
    r = runner.invoke(app, ["match", "--file", str(f), "--json"])
    assert r.exit_code == 0, r.output
    hits = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(h["start"], h["end"]) for h in hits] == [(300_000, 300_003)]
    clean = runner.invoke(app, ["match", "今天天气很好", "--json"])
    assert clean.exit_code == 0 and clean.stdout == ""
    assert "no hits" in clean.stderr


def test_match_without_lists_says_so() -> None:
    r = runner.invoke(app, ["match", "赌博", "--json"])
    assert r.exit_code == 0 and r.stdout == ""
    assert "lists import" in r.stderr


def test_match_bad_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_bytes(b"abc\xff\xfe")
    r = runner.invoke(app, ["match", "--file", str(f)])
    assert isinstance(r.exception, BadInput) and "UTF-8" in r.exception.message
    r = runner.invoke(app, ["match"])
    assert isinstance(r.exception, BadInput)
