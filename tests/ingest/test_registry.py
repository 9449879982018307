"""The source registry: CRUD, CSV import with bad rows, boosts, health, crawl state; on SQLite (and Postgres
when QINGLANG_TEST_PG is set)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import Database
from core.errors import BadInput, Conflict, NotFound
from core.events import utcnow
from ingest.csvimport import import_csv
from ingest.registry import SourceRegistry, parse_schedule
from qinglang.wiring import migrate_all

DB_PARAMS = ["sqlite"] + (
    [pytest.param("postgres", marks=pytest.mark.postgres)] if os.environ.get("QINGLANG_TEST_PG") else [])
PG_URL = "postgresql+psycopg://qinglang:qinglang@127.0.0.1:5432/qinglang"


@pytest.fixture(params=DB_PARAMS)
def reg(request, tmp_path):
    if request.param == "postgres":
        env = os.environ["QINGLANG_TEST_PG"]
        url = env if env.startswith("postgresql") else PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'q.db'}"
    migrate_all(url)
    db = Database(url)
    with db.engine.begin() as c:  # a shared Postgres keeps rows between runs
        for t in ("ingest_state", "ingest_health", "ingest_boosts", "ingest_sources"):
            c.execute(sa.text(f"DELETE FROM {t}"))
    yield SourceRegistry(db)
    db.dispose()


def test_crud_ids_and_validation(reg):
    a = reg.add(kind="iptv", name="江苏卫视", locator="udp://239.1.1.1:1234", tags="jiangsu-related, key-drama",
                profile={"frames_per_second": 2})
    assert a["id"].startswith("src-") and a["tags"] == ["jiangsu-related", "key-drama"]
    assert a["profile"]["frames_per_second"] == 2.0 and a["profile"]["keyframe_interval"] == 2.0
    with pytest.raises(Conflict):
        reg.add(kind="iptv", name="again", locator="udp://239.1.1.1:1234")
    same = reg.add(upsert=True, kind="iptv", name="江苏卫视 HD", locator="udp://239.1.1.1:1234")
    assert same["id"] == a["id"] and same["name"] == "江苏卫视 HD"
    with pytest.raises(BadInput, match="kind"):
        reg.add(kind="radio", name="x", locator="y")
    with pytest.raises(BadInput, match="schedule"):
        reg.add(kind="website", name="x", locator="http://x/", schedule="sometimes")
    with pytest.raises(BadInput, match="profile"):
        reg.add(kind="website", name="x", locator="http://x/", profile={"frames_per_second": "fast"})
    reg.add(kind="website", name="站点", locator="http://site/", schedule="15m")
    rows, total = reg.list(kind="iptv")
    assert total == 1 and rows[0]["name"] == "江苏卫视 HD"
    assert reg.list(tag="key-drama")[1] == 1
    reg.set_enabled(a["id"], False)
    assert [s.id for s, _ in reg.rows()] != [a["id"]] and len(reg.rows(enabled_only=False)) == 2
    assert dict((s.kind, sch) for s, sch in reg.rows(enabled_only=False))["website"] == "15m"
    reg.delete(a["id"])
    with pytest.raises(NotFound):
        reg.get(a["id"])


def test_schedules():
    assert parse_schedule("") == ("auto", None)
    assert parse_schedule("continuous") == ("continuous", None)
    assert parse_schedule("15m") == ("interval", 900.0)
    assert parse_schedule("every 2h") == ("interval", 7200.0)
    assert parse_schedule("90") == ("interval", 90.0)


def test_boosts_by_source_and_tag(reg):
    a = reg.add(kind="ott", name="剧", locator="http://ott/a.m3u8", tags=["key-drama"])
    b = reg.add(kind="ott", name="别的", locator="http://ott/b.m3u8")
    src_a, src_b = reg.source(a["id"]), reg.source(b["id"])
    assert reg.effective(src_a).profile == src_a.profile
    reg.boost(tag="key-drama", factor=2, until=utcnow() + timedelta(hours=1), reason="热播剧")
    reg.boost(b["id"], 4, utcnow() + timedelta(hours=1), "投诉 C-1 定向监看")
    reg.boost(b["id"], 10, utcnow() + timedelta(seconds=1), "short")
    later = utcnow() + timedelta(minutes=5)
    ea, eb = reg.effective(src_a, later), reg.effective(src_b, later)
    assert ea.profile.frames_per_second == 2.0 and ea.profile.keyframe_interval == 1.0
    assert eb.profile.frames_per_second == 4.0 and eb.profile.recrawl_seconds == 225.0
    assert reg.effective(src_b, utcnow() + timedelta(hours=2)).profile == src_b.profile  # expired
    with pytest.raises(BadInput):
        reg.boost(b["id"], 2, utcnow() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        reg.boost("src-nope", 2, utcnow() + timedelta(hours=1))


def test_health_and_state(reg):
    assert reg.health("s")["state"] == "idle"
    reg.record_samples("s", 3)
    reg.record_error("s", "HTTP 500")
    reg.set_state("s", "ok", ran=True)
    h = reg.health("s")
    assert (h["samples_total"], h["errors_total"], h["last_error"]) == (3, 1, "HTTP 500")
    assert h["last_run_at"] and h["last_sample_at"]
    long_key = "page:http://site/" + "x" * 3000
    assert reg.state.changed("s", long_key, "h1") and not reg.state.changed("s", long_key, "h1")
    assert reg.state.changed("s", long_key, "h2")


def test_csv_import_reports_bad_rows_by_line(reg, tmp_path):
    f = tmp_path / "register.csv"
    f.write_text(
        "kind,name,operator,licence,locator,tags,schedule,enabled,frames_per_second,options\n"
        "iptv,江苏卫视,江苏广电,1234567,udp://239.1.1.1:1234,jiangsu-related;key-drama,continuous,yes,2,\n"
        "radio,电台,x,1,udp://239.1.1.2:1234,,,,,\n"
        "website,网站,x,2,,,,,,\n"
        'app,客户端,x,3,http://api/items,,,maybe,,\n'
        'comments,弹幕,x,4,http://api/c,,,,,"{""paging"": {""type"": ""page""}}"\n'
        "\n"
        "ott,点播,x,5,http://ott/x.m3u8,,15m,no,fast,\n",
        encoding="utf-8",
    )
    result = import_csv(reg, f)
    assert len(result.imported) == 2
    lines = {line: reason for line, reason in result.errors}
    assert set(lines) == {3, 4, 5, 8}
    assert "radio" in lines[3] and "locator" in lines[4] and "enabled" in lines[5] and "frames_per_second" in lines[8]
    tv = reg.get(result.imported[0])
    assert tv["profile"]["frames_per_second"] == 2.0 and tv["licence"] == "1234567" and tv["schedule"] == "continuous"
    assert reg.get(result.imported[1])["options"] == {"paging": {"type": "page"}}
    assert len(import_csv(reg, f).imported) == 2 and reg.list()[1] == 2  # re-import updates, no duplicates
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("kind,name,operator,licence,locator,tags\nwebsite,省台网站,省台,9,http://js/,\n".encode("gbk"))
    assert len(import_csv(reg, gbk).imported) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("name,url\nx,y\n", encoding="utf-8")
    with pytest.raises(BadInput, match="header"):
        import_csv(reg, bad)
