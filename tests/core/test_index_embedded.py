"""The embedded SQLite FTS5 index: the shared contract plus embedded specifics."""

from __future__ import annotations

import threading
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
