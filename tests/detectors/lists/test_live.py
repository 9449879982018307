"""LiveMatcher: a saved change reaches the matcher by atomic swap, the old automaton serving meanwhile."""

from __future__ import annotations

import time

import pytest

from detectors.lists.live import LiveMatcher
from detectors.lists.memory import MemoryListStore
from detectors.lists.types import EntryIn


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryListStore()
    from core.db import Database
    from detectors.lists.sql import SqlListStore
    from qinglang.wiring import migrate_all

    url = f"sqlite:///{tmp_path / 'q.db'}"
    migrate_all(url)
    return SqlListStore(Database(url))


def _terms(live: LiveMatcher, text: str) -> list[str]:
    return [f.term for f in live.current().match(text)]


def test_change_is_swapped_in_and_old_serves_meanwhile(store) -> None:
    store.create_list("g", "keyword", "gambling", "high")
    store.upsert_entries("g", [EntryIn("赌博")])
    live = LiveMatcher(store, min_interval=0)
    old = live.current()
    assert [f.term for f in old.match("赌博 六合彩")] == ["赌博"]
    store.upsert_entries("g", [EntryIn("六合彩")], user="u", reason="add")
    assert live.current() is old  # the rebuild runs in the background; the old automaton answers
    assert live._builder is not None
    live._builder.join(timeout=60)
    new = live.current()
    assert new is not old and new.revision == store.revision()
    assert _terms(live, "赌博 六合彩") == ["赌博", "六合彩"]
    hit = new.match("六合彩")[0]
    assert hit.values["list_version"] == store.get_list("g").version
    store.disable_entry("g", "赌博")
    assert _terms(live.__class__(store), "赌博") == []
    assert live.refresh().match("赌博") == []


def test_poller_swaps_without_calls(store) -> None:
    store.create_list("g", "keyword", "gambling")
    live = LiveMatcher(store, min_interval=0.05)
    first = live.refresh()
    live.start()
    try:
        store.upsert_entries("g", [EntryIn("网赌")])
        deadline = time.monotonic() + 60
        while live._matcher is first and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live._matcher is not first
        assert [f.term for f in live._matcher.match("网赌")] == ["网赌"]
    finally:
        live.close()


def test_hotwords_most_severe_first(store) -> None:
    store.create_list("g", "keyword", "gambling", "low")
    store.upsert_entries("g", [EntryIn("赌博"), EntryIn("六合彩", severity="critical"), EntryIn("网赌", enabled=False)])
    store.create_list("d", "domain", "fraud", "critical")
    store.upsert_entries("d", [EntryIn("bad.example.com")])
    live = LiveMatcher(store)
    assert live.hotwords(10) == ["六合彩", "赌博"]
    assert live.hotwords(1) == ["六合彩"]
