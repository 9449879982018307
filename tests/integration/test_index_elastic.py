"""The index contract against a real Elasticsearch 8 node, plus its own layout and error paths."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from core.errors import BadInput, IndexUnavailable
from core.index import open_index
from core.index.base import HitQuery
from core.index.elastic import ElasticIndex
from tests.core.contracts import IndexContract, hit_doc

pytestmark = pytest.mark.elasticsearch


def fresh_index(es_address: str) -> ElasticIndex:
    name = f"qt{uuid.uuid4().hex[:10]}-hits"
    return ElasticIndex(f"elasticsearch://{es_address}", alias=name, prefix=name)


@pytest.fixture
def index(es_address: str):
    idx = fresh_index(es_address)
    yield idx
    idx.delete_all()
    idx.close()


class TestElasticIndexContract(IndexContract):
    pass


def test_monthly_indices_behind_the_alias(index: ElasticIndex) -> None:
    may = hit_doc(1, detected_at=datetime(2024, 5, 31, 23, 59, tzinfo=UTC))
    june = hit_doc(2, detected_at=datetime(2024, 6, 1, 0, 0, tzinfo=UTC))
    index.upsert([may, june])
    index.upsert([may])  # a replay lands in the same monthly index: still one document
    index.refresh()
    names = set(index.es.indices.get_alias(name=index.alias).body)
    assert names == {f"{index.prefix}-2024.05", f"{index.prefix}-2024.06"}
    assert index.count() == 2
    mapping = index.es.indices.get_mapping(index=f"{index.prefix}-2024.05").body
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["source_id"]["type"] == "keyword" and props["detected_at"]["type"] == "date_nanos"
    assert props["qinglang_tokens"]["analyzer"] == "whitespace" and props["text"]["analyzer"] == "standard"


def test_paging_beyond_ten_thousand(index: ElasticIndex) -> None:
    from datetime import timedelta

    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    docs = [{"id": f"hit-{i:06d}", "sample_id": "s", "source_id": f"src-{i % 3}", "detector": "keyword",
             "detected_at": (t0 + timedelta(seconds=i // 2)).isoformat(), "text": "赌博"} for i in range(10_050)]
    for i in range(0, len(docs), 2000):
        index.upsert(docs[i:i + 2000])
    index.refresh()
    seen = list(index.scan(HitQuery(q="赌博")))
    assert len(seen) == 10_050 and len({d["id"] for d in seen}) == 10_050
    assert index.search(HitQuery(size=1)).total == 10_050


def test_mapping_conflict_is_a_clear_error(index: ElasticIndex) -> None:
    bad = hit_doc(1)
    bad["confidence"] = "very"  # a float field
    with pytest.raises(BadInput) as info:
        index.upsert([bad])
    assert "hit-000001" in info.value.message and "mapping" in info.value.hint


def test_open_index_by_url(es_address: str) -> None:
    idx = open_index(f"elasticsearch://{es_address}")
    try:
        assert isinstance(idx, ElasticIndex) and idx.alias == "qinglang-hits"
    finally:
        idx.close()


def test_cluster_down_names_address_and_command() -> None:
    with pytest.raises(IndexUnavailable) as info:
        ElasticIndex("elasticsearch://127.0.0.1:1", retries=1)
    assert "127.0.0.1:1" in info.value.message
    assert "qinglang services start elasticsearch" in info.value.hint
