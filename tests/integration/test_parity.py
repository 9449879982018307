"""Parity: the same samples through the embedded stack and through Kafka + Faust + Elasticsearch
give the same set of hit ids and the same answers to a fixed set of analyst queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.index.base import HitIndex, HitQuery
from core.services import Services
from core.settings import get_settings, reset_settings_cache
from qinglang.distributed import (
    Isolated,
    drained,
    load_lists,
    page_samples,
    produce_samples,
    start_worker,
    stop_worker,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
QUERIES = [
    HitQuery(),
    HitQuery(q="赌博"),
    HitQuery(q="彩票"),
    HitQuery(q="網站"),
    HitQuery(q="电视剧"),
    HitQuery(source=["src-1", "src-2"]),
    HitQuery(severity=["high"], platform=["website"]),
    HitQuery(since=T0 + timedelta(seconds=20), until=T0 + timedelta(seconds=60)),
    HitQuery(q="赌博", source=["src-0"], size=3),
]


def answer(index: HitIndex, query: HitQuery) -> dict[str, Any]:
    res = index.search(query)
    every = [d["id"] for d in index.scan(query)]
    return {"page": [d["id"] for d in res.hits], "total": res.total, "facets": res.facets,
            "per_day": res.per_day, "all": every}


def _env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Services:
    for name in ("QINGLANG_BUS", "QINGLANG_INDEX", "QINGLANG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reset_settings_cache()
    settings = get_settings()
    load_lists(settings)
    return Services(settings)


def test_embedded_and_distributed_give_the_same_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka_address: str, es_address: str
) -> None:
    from stream_jobs.runner import run_until_idle

    samples = page_samples(80, t0=T0)

    embedded = _env(monkeypatch, {"QINGLANG_DATA_DIR": str(tmp_path / "embedded")})
    try:
        produce_samples(embedded.bus, samples)
        run_until_idle(embedded)
        embedded.index.refresh()
        want_ids = embedded.index.ids()
        want = [answer(embedded.index, q) for q in QUERIES]
    finally:
        embedded.close()
    assert want_ids, "the embedded stack found no hit in the planted samples"
    assert want[1]["total"] > 0, "no hit answers the query 赌博"

    iso = Isolated(tmp_path / "distributed", kafka=kafka_address, es=es_address)
    dist = _env(monkeypatch, iso.env)
    from stream_jobs.faust_app import APP_ID

    workers = [start_worker(iso.env, tmp_path / "worker-0.log")]
    try:
        # two workers share the partitions through one consumer group (started one after the other:
        # the first prepares the data dir, e.g. the ASR model files)
        wait_for(lambda: len(dist.bus.members(APP_ID)) == 1, 90, "the first Faust worker to join the group")
        workers.append(start_worker(iso.env, tmp_path / "worker-1.log"))
        wait_for(lambda: len(dist.bus.members(APP_ID)) == 2, 90, "both Faust workers to join the group")
        produce_samples(dist.bus, samples)
        wait_for(lambda: drained(dist.bus), 120, "the Faust worker to drain the topics")
        dist.index.refresh()
        assert dist.index.ids() == want_ids
        got = [answer(dist.index, q) for q in QUERIES]
        for query, w, g in zip(QUERIES, want, got, strict=True):
            assert g == w, f"different answers to {query}"
    finally:
        for w in workers:
            stop_worker(w)
        dist.index.delete_all()  # type: ignore[attr-defined]
        dist.bus.delete_prefixed_topics()  # type: ignore[attr-defined]
        dist.close()
