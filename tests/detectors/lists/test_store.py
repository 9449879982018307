"""Both list stores through one suite: lists, entries, tombstones, versions, allow-lists, import reports."""

from __future__ import annotations

import os

import pytest

from core.errors import BadInput, Conflict, NotFound
from detectors.lists.io import export_text, import_data
from detectors.lists.memory import MemoryListStore
from detectors.lists.types import EntryIn

PG = os.environ.get("QINGLANG_TEST_PG")


def _sql_store(url: str):
    from core.db import Database
    from detectors.lists.sql import SqlListStore
    from qinglang.wiring import migrate_all

    migrate_all(url)
    return SqlListStore(Database(url))


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.skipif(not PG, reason="QINGLANG_TEST_PG unset")]),
    ]
)
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryListStore()
    if request.param == "sqlite":
        return _sql_store(f"sqlite:///{tmp_path / 'q.db'}")
    from sqlalchemy import create_engine, text

    eng = create_engine(PG)
    with eng.begin() as c:  # a clean slate for this test
        for t in ("neg_versions", "neg_allow", "neg_entries", "neg_lists"):
            c.execute(text(f"DELETE FROM {t}")) if eng.dialect.has_table(c, t) else None
    eng.dispose()
    return _sql_store(PG)


def test_create_list_and_version_one(store) -> None:
    info = store.create_list("gamble", "keyword", "gambling", "high", user="alice", reason="new campaign")
    assert (info.name, info.kind, info.category, info.severity, info.version, info.enabled) == (
        "gamble", "keyword", "gambling", "high", 1, True)
    v = store.versions("gamble")
    assert [(x.version, x.user, x.reason, x.action) for x in v] == [(1, "alice", "new campaign", "create")]
    with pytest.raises(Conflict):
        store.create_list("gamble", "keyword", "gambling")
    with pytest.raises(BadInput):
        store.create_list("x", "nonsense", "gambling")
    with pytest.raises(BadInput):
        store.create_list("y", "keyword", "gambling", "urgent")
    assert store.create_list("mine", "keyword", "my-own-category").category == "my-own-category"


def test_upsert_adds_updates_and_counts_unchanged(store) -> None:
    store.create_list("g", "keyword", "gambling")
    r1 = store.upsert_entries("g", [EntryIn("赌博"), EntryIn("六合彩")], user="u", reason="first")
    assert (r1.added, r1.updated, r1.unchanged, r1.version) == (2, 0, 0, 2)
    r2 = store.upsert_entries("g", [EntryIn("赌博"), EntryIn("六合彩", severity="critical"), EntryIn("网赌")])
    assert (r2.added, r2.updated, r2.unchanged, r2.version) == (1, 1, 1, 3)
    r3 = store.upsert_entries("g", [EntryIn("赌博")])
    assert (r3.added, r3.updated, r3.version) == (0, 0, 3)  # no change, no new version
    entries, total = store.entries("g")
    assert total == 3
    by_term = {e.term: e for e in entries}
    assert by_term["六合彩"].severity == "critical" and by_term["六合彩"].version == 3
    assert by_term["赌博"].version == 2


def test_tombstone_keeps_entry_and_history(store) -> None:
    store.create_list("g", "keyword", "gambling")
    store.upsert_entries("g", [EntryIn("赌博"), EntryIn("六合彩")])
    e = store.disable_entry("g", "赌博", user="bob", reason="false positives")
    assert e.enabled is False
    entries, total = store.entries("g")
    assert total == 2  # never deleted
    assert store.entries("g", include_disabled=False)[1] == 1
    snap = store.snapshot()
    lid = store.get_list("g").id
    assert [x.term for x in snap.entries[lid]] == ["六合彩"]
    top = store.versions("g")[0]
    assert (top.action, top.user, top.reason, top.detail["term"]) == ("disable-entry", "bob", "false positives", "赌博")
    with pytest.raises(NotFound):
        store.disable_entry("g", "不存在")
    back = store.update_entry(e.id, {"enabled": True}, user="bob", reason="restored")
    assert back.enabled and store.get_list("g").version == 4


def test_every_change_bumps_revision(store) -> None:
    r0 = store.revision()
    store.create_list("g", "keyword", "gambling")
    r1 = store.revision()
    store.update_list("g", {"options": {"noise_gap": 1}}, user="u", reason="tighter")
    r2 = store.revision()
    store.add_allow("三黄鸡", None, user="u", reason="a dish")
    r3 = store.revision()
    assert r0 < r1 < r2 < r3
    assert store.get_list("g").options["noise_gap"] == 1
    assert [v.action for v in store.versions(None)] == ["allow"]
    with pytest.raises(BadInput):
        store.update_list("g", {"options": {"nonsense": True}})
    with pytest.raises(BadInput):
        store.update_list("g", {"name": "other"})


def test_allow_scoped_and_global(store) -> None:
    store.create_list("porn", "keyword", "pornography")
    a = store.add_allow("三黄片", "porn", user="u")
    b = store.add_allow("三黄鸡")
    assert {(x.phrase, x.list_id) for x in store.allows()} == {("三黄片", store.get_list("porn").id), ("三黄鸡", None)}
    store.set_allow_enabled(b.id, False)
    assert [x.phrase for x in store.snapshot().allows] == [a.phrase]
    assert store.versions("porn")[0].action == "allow"


def test_entries_paging_and_search(store) -> None:
    store.create_list("g", "keyword", "gambling")
    store.upsert_entries("g", [EntryIn(f"赌{chr(0x4e00 + i)}") for i in range(25)])
    page, total = store.entries("g", offset=10, limit=10)
    assert total == 25 and len(page) == 10
    assert page[0].term == f"赌{chr(0x4e00 + 10)}"
    assert store.entries("g", q=chr(0x4e00 + 3))[1] == 1


def test_import_report_lines_and_reasons(store) -> None:
    data = "赌博\n\n六合彩\n賭博\n  \n★★ ！\n网络赌场\n六合彩\n".encode()
    rep = import_data(store, "g", data, fmt="txt", kind="keyword", category="gambling", severity="high", user="u")
    assert (rep.added, rep.version) == (3, 2)
    reasons = {r.line: r.reason for r in rep.rejected}
    assert reasons[2] == "blank line" and reasons[5] == "blank line"
    assert reasons[4].startswith("duplicate of line 1")
    assert reasons[6].startswith("only noise")
    assert reasons[8].startswith("duplicate of line 3")
    assert store.get_list("g").severity == "high"


def test_import_csv_conflicts_and_dates(store) -> None:
    data = (
        "term,category,severity,tags,valid_from,valid_until,source,note,enabled,pinyin\n"
        "赌博,gambling,high,a;b,2024-01-01,,gov,n1,true,true\n"
        "赌博,fraud,high,,,,,,,\n"
        "毛片,,,,notadate,,,,,\n"
        "黄片,,,,,,,,maybe,\n"
        "旧词,,,,,,,,false,\n"
    ).encode()
    rep = import_data(store, "c", data, fmt="csv", kind="keyword", category="gambling")
    reasons = {r.line: r.reason for r in rep.rejected}
    assert reasons[3].startswith("conflicting duplicate of line 2")
    assert "invalid date" in reasons[4]
    assert "invalid enabled" in reasons[5]
    assert rep.added == 2
    entries, _ = store.entries("c")
    e = {x.term: x for x in entries}
    assert e["赌博"].tags == ["a", "b"] and e["赌博"].pinyin and e["赌博"].source == "gov"
    assert e["赌博"].valid_from.year == 2024
    assert e["旧词"].enabled is False
    # export writes the same format back, and importing it changes nothing
    csv_text = export_text(entries, "csv")
    again = import_data(store, "c", csv_text.encode(), fmt="csv", kind="keyword")
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 2, [])
    assert export_text(entries, "txt") == "赌博\n"


def test_import_bad_input(store) -> None:
    with pytest.raises(BadInput, match="UTF-8"):
        import_data(store, "g", b"\xff\xfe\x00bad", fmt="txt")
    with pytest.raises(BadInput, match="term"):
        import_data(store, "g", b"word,category\nx,y\n", fmt="csv")
    with pytest.raises(BadInput, match="no entries"):
        import_data(store, "g", b"", fmt="txt")
    rep = import_data(store, "g", ("x" * 1000 + "\n").encode(), fmt="txt")
    assert "longer than 500" in rep.rejected[0].reason
    with pytest.raises(Conflict):
        import_data(store, "g", b"abc\n", fmt="txt", kind="person")


def test_bulk_import_reports_progress(store) -> None:
    import random

    rnd = random.Random(1)
    terms = {"".join(rnd.choices([chr(c) for c in range(0x4E00, 0x4E00 + 2000)], k=rnd.randint(2, 5))) for _ in range(3000)}
    seen: list[tuple[int, int]] = []
    rep = import_data(store, "bulk", "\n".join(terms).encode(), kind="keyword", progress=lambda d, t: seen.append((d, t)))
    assert rep.added == len(terms)
    assert seen and seen[-1] == (len(terms), len(terms))
    assert store.entries("bulk", limit=1)[1] == len(terms)
