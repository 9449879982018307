"""The embedded SQLite FTS5 index: the shared contract plus embedded specifics."""

from __future__ import annotations

import threading
from datetime import UTC
from pathlib import Path

import pytest

from core.errors import BadInput, ConfigError
from core.index import open_index
from core.index.base import HitQuery
from core.index.embedded import EmbeddedIndex, match_expression
from core.index.tokenize import token_string, tokens
from tests.core.contracts import IndexContract, hit_doc


class TestEmbeddedIndexContract(IndexContract):
    @pytest.fixture
    def index(self, tmp_path: Path):
        ix = EmbeddedIndex(str(tmp_path / "index.db"))
        yield ix
        ix.close()


def test_tokens_are_jieba_search_mode_lowercase_without_punctuation() -> None:
    assert tokens("该网站提供网络赌博服务") == ["该", "网站", "提供", "网络", "赌博", "服务"]
    assert tokens("Hello，World! 直播") == ["hello", "world", "直播"]
    assert tokens("  ，。!?\"") == []
    assert token_string("网络赌博", "赌博网站") == "网络 赌博 网站"


def test_match_expression_quotes_every_token() -> None:
    assert match_expression("") == ""
    assert match_expression('"') is None
    assert match_expression('say "AND" (') == '"say"* AND "and"*'


def test_written_data_survives_reopen_and_is_seen_by_other_connections(tmp_path: Path) -> None:
    url = f"embedded://{tmp_path / 'ix.db'}"
    ix = open_index(url)
    ix.upsert([hit_doc(1, text="网络赌博"), hit_doc(2)])
    other = open_index(url)
    assert other.count() == 2
    results: list[int] = []
    t = threading.Thread(target=lambda: results.append(other.search(HitQuery(q="网络")).total))
    t.start()
    t.join()
    assert results == [1]
    ix.close()
    other.close()
    assert open_index(url).get("hit-000001")["text"] == "网络赌博"


def test_bad_input_is_rejected_clearly(tmp_path: Path) -> None:
    ix = EmbeddedIndex(str(tmp_path / "ix.db"))
    with pytest.raises(BadInput):
        ix.upsert([{"text": "no id"}])
    with pytest.raises(BadInput):
        ix.upsert([{"id": "x", "detected_at": "yesterday"}])
    with pytest.raises(BadInput):
        ix.search(HitQuery(cursor="%%%not-a-cursor"))
    with pytest.raises(BadInput):
        ix.search(HitQuery(size=0))
    with pytest.raises(ConfigError):
        open_index("embedded://")
    assert ix.count() == 0
    ix.close()


def test_a_failed_batch_writes_nothing(tmp_path: Path) -> None:
    ix = EmbeddedIndex(str(tmp_path / "ix.db"))
    with pytest.raises(BadInput):
        ix.upsert([hit_doc(1), {"id": "broken"}])
    assert ix.count() == 0
    ix.close()


def _brute(docs: dict[str, dict], since, until) -> tuple[int, dict, dict]:  # type: ignore[no-untyped-def]
    from collections import Counter

    from core.index.base import FACET_FIELDS
    from core.index.embedded import to_utc

    chosen = [
        d for d in docs.values()
        if (since is None or to_utc(d["detected_at"]) >= since) and (until is None or to_utc(d["detected_at"]) < until)
    ]
    facets = {f: dict(Counter(str(d[f]) for d in chosen if d.get(f) is not None)) for f in FACET_FIELDS}
    per_day = dict(Counter(to_utc(d["detected_at"]).date().isoformat() for d in chosen))
    return len(chosen), facets, per_day


def test_per_day_summary_matches_a_recount_for_any_time_range(tmp_path: Path) -> None:
    import random
    from datetime import datetime, timedelta

    rng = random.Random(7)
    t0 = datetime(2024, 5, 1, tzinfo=UTC)

    def doc(i: int) -> dict:
        return hit_doc(
            i,
            source_id=f"src-{rng.randrange(5)}",
            severity=rng.choice(["low", "high", "critical"]),
            detector=rng.choice(["keyword", "black"]),
            list_name=rng.choice(["gambling", None]),
            detected_at=t0 + timedelta(minutes=rng.randrange(6 * 24 * 60)),
        )

    path = str(tmp_path / "ix.db")
    ix = EmbeddedIndex(path)
    docs = {d["id"]: d for d in (doc(i) for i in range(300))}
    ix.upsert(list(docs.values()))
    rewritten = {d["id"]: d for d in (doc(i) for i in range(0, 300, 3))}  # new day, new facets
    ix.upsert(list(rewritten.values()))
    docs.update(rewritten)

    bounds = [None, t0, t0 + timedelta(days=1), t0 + timedelta(hours=30, minutes=17), t0 + timedelta(days=3, hours=2),
              t0 + timedelta(hours=31), t0 + timedelta(days=9)]
    for since in bounds:
        for until in bounds:
            res = ix.search(HitQuery(since=since, until=until, size=1))
            total, facets, per_day = _brute(docs, since, until)
            assert (res.total, res.per_day) == (total, per_day), (since, until)
            assert {f: v for f, v in res.facets.items() if v} == {f: v for f, v in facets.items() if v}
    ix.close()

    # An index written before the summary existed gets it rebuilt on open.
    import sqlite3

    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE facet_counts")
    raw.commit()
    raw.close()
    again = EmbeddedIndex(path)
    res = again.search(HitQuery(size=1))
    assert (res.total, res.per_day) == _brute(docs, None, None)[::2]
    again.close()
