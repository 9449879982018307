"""Contract tests every Bus and every HitIndex implementation must pass.

Use them by subclassing in a test module and providing a factory fixture:

    class TestKafkaBus(BusContract):
        @pytest.fixture
        def bus_factory(self):
            opened = []
            def make():            # a new client on the SAME storage each call
                opened.append(KafkaBus("127.0.0.1:9092"))
                return opened[-1]
            yield make
            for b in opened: b.close()

    class TestElasticIndex(IndexContract):
        @pytest.fixture
        def index(self):          # an EMPTY index
            ...

Topics and groups get unique names per test, so a shared broker is fine.
Waits are deadlines (``WAIT`` seconds), never timing assertions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

import pytest

from core.bus.base import Bus, Consumer, Record
from core.errors import BadInput, RecordTooLarge
from core.events import Evidence, Hit
from core.index.base import FACET_FIELDS, HitIndex, HitQuery

WAIT = 30.0  # seconds a contract waits for records before failing


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def drain(consumer: Consumer, expected: int, wait: float = WAIT, commit: bool = False) -> list[Record]:
    """Poll until ``expected`` records arrived (or the deadline passed); then one short extra poll."""
    import time

    got: list[Record] = []
    deadline = time.monotonic() + wait
    while len(got) < expected and time.monotonic() < deadline:
        batch = consumer.poll(max_records=500, timeout=0.5)
        got.extend(batch)
        if commit and batch:
            consumer.commit(batch)
    extra = consumer.poll(max_records=500, timeout=0.5)
    got.extend(extra)
    if commit and extra:
        consumer.commit(extra)
    return got


class BusContract:
    """Needs fixture ``bus_factory``: ``() -> Bus``, each call a new client on the same storage."""

    def _bus(self, bus_factory: Callable[[], Bus], partitions: int = 4) -> tuple[Bus, str]:
        bus = bus_factory()
        topic = unique("contract")
        bus.ensure_topics([topic], partitions=partitions)
        return bus, topic

    def test_ordering_per_key(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        keys = [f"src-{k}" for k in range(6)]
        bus.produce_many(topic, [(keys[i % 6], {"key": keys[i % 6], "seq": i}) for i in range(120)])
        bus.flush()
        with bus.consumer(unique("g"), [topic]) as c:
            got = drain(c, 120, commit=True)
        assert len(got) == 120
        by_key: dict[str, list[int]] = {}
        parts: dict[str, set[int]] = {}
        for r in got:
            assert r.key == r.value["key"]
            by_key.setdefault(r.key, []).append(r.value["seq"])
            parts.setdefault(r.key, set()).add(r.partition)
        for key, seqs in by_key.items():
            assert seqs == sorted(seqs), f"records of {key} out of order"
            assert len(parts[key]) == 1, f"records of {key} in several partitions"
        assert len({p for s in parts.values() for p in s}) > 1, "six keys all landed in one partition"

    def test_offsets_increase_per_partition(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        bus.produce_many(topic, [(f"k{i % 5}", {"i": i}) for i in range(40)])
        bus.flush()
        with bus.consumer(unique("g"), [topic]) as c:
            got = drain(c, 40)
        per_part: dict[int, list[int]] = {}
        for r in got:
            per_part.setdefault(r.partition, []).append(r.offset)
        for offs in per_part.values():
            assert offs == sorted(offs) and len(set(offs)) == len(offs)
        ends = bus.end_offsets(topic)
        assert sum(ends.values()) - sum(min(o) for o in per_part.values()) == 40

    def test_redelivery_of_uncommitted_after_close(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        group = unique("g")
        bus.produce_many(topic, [(f"k{i % 12}", {"i": i}) for i in range(36)])
        bus.flush()
        c = bus.consumer(group, [topic])
        first = drain(c, 36)
        assert sorted(r.value["i"] for r in first) == list(range(36))
        p0 = first[0].partition
        in_p0 = sorted((r for r in first if r.partition == p0), key=lambda r: r.offset)
        half = in_p0[: len(in_p0) // 2 + 1]
        c.commit(half)  # everything up to and including the last of these, in that partition only
        c.close()  # the rest was polled but never committed
        expected = sorted(r.value["i"] for r in first if r not in half)
        with bus.consumer(group, [topic]) as c2:
            again = drain(c2, len(expected))
        assert sorted(r.value["i"] for r in again) == expected

    def test_commit_all_then_nothing_is_redelivered(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        group = unique("g")
        bus.produce_many(topic, [(f"k{i % 4}", {"i": i}) for i in range(20)])
        bus.flush()
        with bus.consumer(group, [topic]) as c:
            got = drain(c, 20)
            c.commit()
        assert len(got) == 20
        bus.produce(topic, "k0", {"i": 20})
        bus.flush()
        with bus.consumer(group, [topic]) as c:
            later = drain(c, 1, commit=True)
        assert [r.value["i"] for r in later] == [20]
        assert bus.lag(group, [topic]) == 0

    def test_committed_offsets_survive_reopen(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        group = unique("g")
        bus.produce_many(topic, [(f"k{i % 4}", {"i": i}) for i in range(16)])
        bus.flush()
        with bus.consumer(group, [topic]) as c:
            drain(c, 16, commit=True)
        expected = bus.end_offsets(topic)
        bus.close()
        reopened = bus_factory()
        committed = reopened.committed(group, topic)
        assert {p: o for p, o in committed.items() if o} == {p: o for p, o in expected.items() if o}
        reopened.produce(topic, "k1", {"i": 99})
        reopened.flush()
        with reopened.consumer(group, [topic]) as c:
            got = drain(c, 1, commit=True)
        assert [r.value["i"] for r in got] == [99]

    def test_independent_groups_each_see_everything(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        bus.produce_many(topic, [(f"k{i % 7}", {"i": i}) for i in range(50)])
        bus.flush()
        g1, g2 = unique("g1"), unique("g2")
        with bus.consumer(g1, [topic]) as c1:
            a = drain(c1, 50, commit=True)
        with bus.consumer(g2, [topic]) as c2:
            b = drain(c2, 50, commit=True)
        assert sorted(r.value["i"] for r in a) == list(range(50))
        assert sorted(r.value["i"] for r in b) == list(range(50))
        assert bus.lag(g1, [topic]) == 0 and bus.lag(g2, [topic]) == 0

    def test_values_round_trip_unicode(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        value = {"text": "该网站提供网络赌博服务", "n": 1.5, "nested": {"list": [1, None, True]}}
        bus.produce(topic, "源-1", value)
        bus.flush()
        with bus.consumer(unique("g"), [topic]) as c:
            got = drain(c, 1)
        assert got[0].value == value and got[0].key == "源-1" and got[0].topic == topic

    def test_rejects_values_that_are_not_json_objects(self, bus_factory: Callable[[], Bus]) -> None:
        bus, topic = self._bus(bus_factory)
        with pytest.raises(BadInput):
            bus.produce(topic, "k", {"when": datetime.now(UTC)})
        with pytest.raises(BadInput):
            bus.produce(topic, "k", ["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(RecordTooLarge) as info:
            bus.produce(topic, "k", {"blob": "x" * (2 * 1024 * 1024)})
        assert info.value.hint


# ---------------------------------------------------------------------------- index

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def hit_doc(n: int, **fields: Any) -> dict[str, Any]:
    """A realistic hit document (``Hit.to_json()``) numbered ``n``."""
    evidence = fields.pop("evidence", None) or Evidence(snippet=fields.pop("snippet", "片段"))
    base: dict[str, Any] = {
        "id": f"hit-{n:06d}",
        "sample_id": f"smp-{n}",
        "source_id": "src-a",
        "detector": "keyword",
        "list_name": "gambling",
        "term": "赌博",
        "matched": "赌博",
        "category": "gambling",
        "severity": "high",
        "detected_at": T0 + timedelta(minutes=n),
        "text": "普通的节目内容",
        "origin": "page",
        "platform": "website",
    }
    base.update(fields)
    return Hit(evidence=evidence, **base).to_json()


class IndexContract:
    """Needs fixture ``index``: an empty HitIndex."""

    def _load(self, index: HitIndex, docs: list[dict[str, Any]]) -> None:
        assert index.upsert(docs) == len(docs)
        index.refresh()

    def _ids(self, index: HitIndex, **query: Any) -> list[str]:
        return [d["id"] for d in index.search(HitQuery(size=1000, **query)).hits]

    def test_chinese_full_text_search(self, index: HitIndex) -> None:
        self._load(
            index,
            [
                hit_doc(1, text="该网站提供网络赌博服务", term="网络赌博", matched="网络赌博"),
                hit_doc(2, text="今晚播出的电视剧很精彩", term="电视剧", matched="电视剧"),
                hit_doc(3, text="无关", term="x", matched="x", snippet="主播在直播中推销彩票"),
            ],
        )
        assert self._ids(index, q="赌博") == ["hit-000001"]
        assert self._ids(index, q="诈骗") == []
        assert self._ids(index, q="网络 赌博") == ["hit-000001"]
        assert self._ids(index, q="电视剧") == ["hit-000002"]
        assert self._ids(index, q="彩票") == ["hit-000003"]  # evidence snippet is searchable
        assert self._ids(index, q="赌博 电视剧") == []  # tokens are ANDed
        assert self._ids(index, q="") == ["hit-000003", "hit-000002", "hit-000001"]

    def test_query_syntax_is_literal(self, index: HitIndex) -> None:
        self._load(index, [hit_doc(1, text="AND OR NOT 赌博 (网站)")])
        for q in ['"', "AND (", "OR", "*", "NEAR(", "赌博 AND", "'; DROP TABLE hits; --", "a:b", "^"]:
            index.search(HitQuery(q=q))  # must not raise
        assert self._ids(index, q="赌博 (") == ["hit-000001"]

    def test_filters_or_within_and_across_fields(self, index: HitIndex) -> None:
        docs = [
            hit_doc(1, source_id="src-a", detector="keyword", severity="high"),
            hit_doc(2, source_id="src-b", detector="keyword", severity="low"),
            hit_doc(3, source_id="src-c", detector="black", category="technical", list_name=None,
                    severity="medium", platform="iptv"),
            hit_doc(4, source_id="src-a", detector="black", category="technical", list_name=None,
                    severity="high", platform="iptv"),
        ]
        self._load(index, docs)
        assert set(self._ids(index, source=["src-a", "src-b"])) == {"hit-000001", "hit-000002", "hit-000004"}
        assert self._ids(index, source=["src-a"], detector=["black"]) == ["hit-000004"]
        assert set(self._ids(index, category=["technical"])) == {"hit-000003", "hit-000004"}
        assert self._ids(index, list=["gambling"], severity=["low"]) == ["hit-000002"]
        assert set(self._ids(index, platform=["iptv"], severity=["medium", "high"])) == {"hit-000003", "hit-000004"}
        assert self._ids(index, since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4)) == [
            "hit-000003",
            "hit-000002",
        ]
        assert self._ids(index, source=["nope"]) == []

    def test_facets_and_per_day_histogram(self, index: HitIndex) -> None:
        docs = [hit_doc(i, source_id=f"src-{i % 3}", severity="high" if i % 2 else "low",
                        detected_at=T0 + timedelta(hours=6 * i)) for i in range(10)]
        self._load(index, docs)
        res = index.search(HitQuery(size=2))
        assert res.total == 10 and len(res.hits) == 2
        assert set(res.facets) >= set(FACET_FIELDS) - {"list_name", "origin", "platform"}
        assert res.facets["source_id"] == {"src-0": 4, "src-1": 3, "src-2": 3}
        assert res.facets["severity"] == {"high": 5, "low": 5}
        assert res.facets["detector"] == {"keyword": 10}
        # 6-hour steps from 2024-05-01T08:00Z: 3 on the 1st, 4 on the 2nd, 3 on the 3rd
        assert res.per_day == {"2024-05-01": 3, "2024-05-02": 4, "2024-05-03": 3}
        filtered = index.search(HitQuery(source=["src-0"], size=1))
        assert filtered.total == 4
        assert filtered.facets["source_id"] == {"src-0": 4}
        assert sum(filtered.per_day.values()) == 4
        bare = index.search(HitQuery(facets=False, histogram=False))
        assert bare.total == 10 and not bare.per_day

    def test_upsert_twice_is_one_document(self, index: HitIndex) -> None:
        self._load(index, [hit_doc(1, text="旧的文本内容", severity="low", detected_at=T0 - timedelta(days=3))])
        self._load(index, [hit_doc(1, text="新的赌博内容")])
        self._load(index, [hit_doc(1, text="新的赌博内容"), hit_doc(2, text="电视剧", term="剧", matched="剧")])
        assert index.count() == 2
        res = index.search(HitQuery(q="新的"))
        assert res.total == 1 and res.facets["severity"] == {"high": 1}
        everything = index.search(HitQuery())
        assert everything.facets["severity"] == {"high": 2}
        assert everything.per_day == {T0.date().isoformat(): 2}
        assert self._ids(index, q="赌博") == ["hit-000001"]
        assert self._ids(index, q="旧的") == []
        assert index.get("hit-000001")["text"] == "新的赌博内容"
        assert index.get("hit-missing") is None

    def test_sort_newest_first_then_id(self, index: HitIndex) -> None:
        same = T0 + timedelta(days=1)
        self._load(index, [hit_doc(1), hit_doc(2, detected_at=same), hit_doc(3, detected_at=same), hit_doc(4)])
        assert self._ids(index) == ["hit-000003", "hit-000002", "hit-000004", "hit-000001"]

    def test_fields_keep_only_the_named_fields(self, index: HitIndex) -> None:
        self._load(index, [hit_doc(1), hit_doc(2, source_id="src-b")])
        res = index.search(HitQuery(source=["src-a"], fields=["id", "detected_at"], facets=False, histogram=False))
        assert [sorted(d) for d in res.hits] == [["detected_at", "id"]]
        assert res.hits[0]["id"] == "hit-000001" and res.total == 1
        assert "text" in index.search(HitQuery(source=["src-a"])).hits[0]  # None (the default): whole documents

    def test_cursor_pages_return_every_document_once(self, index: HitIndex) -> None:
        docs = [hit_doc(i, detected_at=T0 + timedelta(minutes=i // 3)) for i in range(53)]  # ties on time
        self._load(index, docs)
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            res = index.search(HitQuery(size=7, cursor=cursor, facets=False, histogram=False))
            seen.extend(d["id"] for d in res.hits)
            pages += 1
            assert pages < 20
            if not res.cursor:
                break
            cursor = res.cursor
        assert len(seen) == 53 and len(set(seen)) == 53
        order = [(d["detected_at"], d["id"]) for d in sorted(docs, key=lambda d: (d["detected_at"], d["id"]))]
        assert seen == [i for _, i in reversed(order)]
        assert index.ids() == {d["id"] for d in docs}

    def test_cursor_with_query_and_filter(self, index: HitIndex) -> None:
        docs = [hit_doc(i, text="网络赌博" if i % 2 else "电视剧", source_id=f"src-{i % 4}") for i in range(40)]
        self._load(index, docs)
        q = HitQuery(q="赌博", source=["src-1"], size=3)
        got = [d["id"] for d in index.scan(q)]
        assert got == [f"hit-{i:06d}" for i in sorted(range(40), reverse=True) if i % 4 == 1]
