"""`qinglang search` against a real embedded index in a temporary data dir."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from core.index import open_index
from core.settings import get_settings
from qinglang.cli import app
from qinglang.cmd_search import parse_when
from tests.core.contracts import hit_doc

runner = CliRunner()
NOW = datetime.now(UTC).replace(microsecond=0)


def _fill(docs: list[dict]) -> None:
    index = open_index(get_settings().index_url)
    index.upsert(docs)
    index.close()


@pytest.fixture
def sample(data_dir: Path) -> list[dict]:
    docs = [
        hit_doc(1, text="该网站提供网络赌博服务", source_id="site-1", severity="high", detected_at=NOW - timedelta(days=1)),
        hit_doc(2, text="今晚的电视剧", term="电视剧", matched="电视剧", source_id="site-2", severity="low",
                detected_at=NOW - timedelta(days=2)),
        hit_doc(3, text="赌博广告又出现了", source_id="app-9", severity="low", detected_at=NOW - timedelta(days=10)),
        hit_doc(4, text="黑屏", detector="black", category="technical", list_name=None, term=None, matched=None,
                source_id="iptv-1", severity="medium", detected_at=NOW - timedelta(hours=1)),
    ]
    _fill(docs)
    return docs


def _lines(result) -> list[dict]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_json_prints_one_hit_document_per_line_newest_first(sample: list[dict]) -> None:
    got = _lines(runner.invoke(app, ["search", "--json"]))
    assert [d["id"] for d in got] == ["hit-000004", "hit-000001", "hit-000002", "hit-000003"]
    assert got[1] == sample[0]  # the stored document, unchanged


def test_full_text_and_filters(sample: list[dict]) -> None:
    assert [d["id"] for d in _lines(runner.invoke(app, ["search", "赌博", "--json"]))] == ["hit-000001", "hit-000003"]
    got = _lines(runner.invoke(app, ["search", "赌博", "--severity", "low", "--json"]))
    assert [d["id"] for d in got] == ["hit-000003"]
    got = _lines(runner.invoke(app, ["search", "--source", "site-1", "--source", "iptv-1", "--json"]))
    assert [d["id"] for d in got] == ["hit-000004", "hit-000001"]
    got = _lines(runner.invoke(app, ["search", "--detector", "black", "--category", "technical", "--json"]))
    assert [d["id"] for d in got] == ["hit-000004"]
    assert _lines(runner.invoke(app, ["search", "--list", "nope", "--json"])) == []
    assert _lines(runner.invoke(app, ["search", '"AND (', "--json"])) == []


def test_since_until_relative_and_iso(sample: list[dict]) -> None:
    got = _lines(runner.invoke(app, ["search", "--since", "7d", "--json"]))
    assert [d["id"] for d in got] == ["hit-000004", "hit-000001", "hit-000002"]
    got = _lines(runner.invoke(app, ["search", "--since", "3d", "--until", "12h", "--json"]))
    assert [d["id"] for d in got] == ["hit-000001", "hit-000002"]
    day = (NOW - timedelta(days=5)).date().isoformat()
    got = _lines(runner.invoke(app, ["search", "--until", day, "--json"]))
    assert [d["id"] for d in got] == ["hit-000003"]


def test_bad_time_is_a_clear_usage_error(data_dir: Path) -> None:
    result = runner.invoke(app, ["search", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "last tuesday" in result.output and "7d" in result.output and "ISO-8601" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_limit_and_all_stream_through_the_cursor(data_dir: Path) -> None:
    _fill([hit_doc(i, detected_at=NOW - timedelta(minutes=i)) for i in range(1, 1203)])
    assert len(_lines(runner.invoke(app, ["search", "--json"]))) == 50
    assert len(_lines(runner.invoke(app, ["search", "--limit", "7", "--json"]))) == 7
    every = _lines(runner.invoke(app, ["search", "--all", "--json"]))
    assert len(every) == 1202 and len({d["id"] for d in every}) == 1202
    assert every[0]["id"] == "hit-000001" and every[-1]["id"] == "hit-001202"


def test_table_with_facet_summary(sample: list[dict]) -> None:
    result = runner.invoke(app, ["search", "赌博"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2 hits" in out and "site-1" in out and "app-9" in out and "iptv-1" not in out
    assert "source_id" in out and "per day" in out


def test_parse_when_forms() -> None:
    now = datetime(2024, 5, 10, 12, tzinfo=UTC)
    assert parse_when("24h", now) == datetime(2024, 5, 9, 12, tzinfo=UTC)
    assert parse_when("2w", now) == datetime(2024, 4, 26, 12, tzinfo=UTC)
    assert parse_when("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_when("2024-05-01T08:00:00Z") == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert parse_when("2024-05-01 08:00+08:00") == datetime(2024, 5, 1, 0, tzinfo=UTC)
    with pytest.raises(typer.BadParameter):
        parse_when("soon")
