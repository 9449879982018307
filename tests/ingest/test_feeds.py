"""Comment and app feeds: JSON-lines files with broken lines, HTTP JSON connectors with cursor and page
paging, an auth header from settings, a broken item; every item once."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from core.errors import ConfigError
from core.events import Source
from ingest.base import IngestContext, plugin_for
from ingest.worker import IngestWorker

from .conftest import bus_samples


def test_jsonl_file_skips_bad_lines_and_dedups(tmp_path, services):
    f = tmp_path / "comments.jsonl"
    lines = [
        {"id": "c1", "text": "第一条评论", "account": "user_a", "url": "http://app/v/1"},
        {"id": "c2", "text": "第二条评论", "account": "user_b"},
        "{not json",
        {"id": "c1", "text": "第一条评论", "account": "user_a"},  # same item again
        {"id": "c3"},  # no text
        "",
        {"id": 4, "text": "数字编号"},
    ]
    f.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
                 encoding="utf-8")
    src = Source(id="cm1", kind="comments", name="弹幕", locator=str(f))
    worker = IngestWorker(services)
    assert worker.run_source_once(src) == 3
    got = bus_samples(services.bus)
    assert [(s["kind"], s["metadata"]["item_id"], s["text"]) for s in got] == [
        ("comment", "c1", "第一条评论"), ("comment", "c2", "第二条评论"), ("comment", "4", "数字编号")]
    assert got[0]["metadata"]["account"] == "user_a" and got[0]["metadata"]["url"] == "http://app/v/1"
    health = worker.registry.health("cm1")
    assert health["errors_total"] == 2 and "line 5" in health["last_error"]
    # re-reading the file produces nothing; an appended item produces exactly itself
    assert worker.run_source_once(src) == 0
    with f.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "c9", "text": "新评论"}, ensure_ascii=False) + "\n")
    assert worker.run_source_once(src) == 1
    assert [s["metadata"]["item_id"] for s in bus_samples(services.bus)] == ["c9"]


def test_jsonl_reports_line_numbers(tmp_path):
    from core.blobs import open_blobs

    f = tmp_path / "items.jsonl"
    f.write_text('{"id": 1, "text": "好"}\n{broken\n{"id": 2, "text": "的"}\n', encoding="utf-8")
    ctx = IngestContext(blobs=open_blobs(f"file://{tmp_path}/b"))
    src = Source(id="app1", kind="app", name="a", locator=str(f))
    out = list(plugin_for(src).samples(src, ctx))
    assert [s.kind for s in out] == ["text", "text"]
    assert len(ctx.errors) == 1 and "line 2" in ctx.errors[0][1] and "malformed JSON" in ctx.errors[0][1]


def cursor_api(server, token: str) -> None:
    pages = {
        "": {"data": {"list": [{"cid": "a1", "body": {"content": "评论甲"}, "user": {"name": "甲"}},
                               {"cid": "a2", "body": {"content": "评论乙"}, "user": {"name": "乙"}}],
                      "next": "p2"}},
        "p2": {"data": {"list": [{"cid": "a3", "body": {"content": "评论丙"}, "user": {"name": "丙"}},
                                 {"body": {"content": "没有编号"}},
                                 {"cid": "a2", "body": {"content": "评论乙"}, "user": {"name": "乙"}}],
                        "next": "p3"}},
        "p3": {"data": {"list": [{"cid": "a4", "body": {"content": "评论丁"}, "user": {"name": "丁"}}], "next": None}},
    }

    def route(h):
        if h.headers.get("Authorization") != f"Bearer {token}":
            return 401, {}, b'{"error": "unauthorized"}'
        cursor = parse_qs(urlsplit(h.path).query).get("cursor", [""])[0]
        return 200, {"Content-Type": "application/json"}, json.dumps(pages[cursor], ensure_ascii=False).encode()

    server.routes["/api/comments"] = route


CURSOR_OPTS = {
    "items": "data.list",
    "fields": {"id": "cid", "text": "body.content", "account": "user.name"},
    "paging": {"type": "cursor", "param": "cursor", "next": "data.next"},
    "auth": {"header": "Authorization", "setting": "feed_token", "prefix": "Bearer "},
}


def test_http_cursor_feed_with_auth_and_a_broken_item(http_server, services, monkeypatch):
    monkeypatch.setenv("QINGLANG_FEED_TOKEN", "s3cret")
    cursor_api(http_server, "s3cret")
    src = Source(id="api1", kind="comments", name="评论接口", locator=http_server.url + "/api/comments",
                 options=CURSOR_OPTS)
    worker = IngestWorker(services)
    assert worker.run_source_once(src) == 4
    got = bus_samples(services.bus)
    assert [s["metadata"]["item_id"] for s in got] == ["a1", "a2", "a3", "a4"]
    assert [s["metadata"]["account"] for s in got] == ["甲", "乙", "丙", "丁"]
    health = worker.registry.health("api1")
    assert health["errors_total"] == 1 and "page 2" in health["last_error"] and "item 1" in health["last_error"]
    assert len(http_server.hits) == 3
    assert worker.run_source_once(src) == 0  # every item once


def test_http_feed_missing_token_is_a_config_error(http_server, services, monkeypatch):
    monkeypatch.delenv("QINGLANG_FEED_TOKEN", raising=False)
    cursor_api(http_server, "s3cret")
    src = Source(id="api2", kind="comments", name="x", locator=http_server.url + "/api/comments", options=CURSOR_OPTS)
    with pytest.raises(ConfigError, match="feed_token"):
        IngestWorker(services).run_source_once(src)
    assert http_server.hits == []


def test_http_page_paging_with_template_and_errors(http_server, tmp_path):
    from core.blobs import open_blobs

    data = {1: [{"id": "x1", "text": "一"}, {"id": "x2", "text": "二"}], 2: [{"id": "x3", "text": "三"}], 3: []}

    def route(h):
        n = int(urlsplit(h.path).path.rsplit("/", 1)[1])
        return 200, {"Content-Type": "application/json"}, json.dumps({"items": data[n]}).encode()

    for n in data:
        http_server.routes[f"/api/items/{n}"] = route
    ctx = IngestContext(blobs=open_blobs(f"file://{tmp_path}/b"))
    src = Source(id="app2", kind="app", name="app", locator=http_server.url + "/api/items/{page}",
                 options={"paging": {"type": "page", "start": 1}})
    assert [s.text for s in plugin_for(src).samples(src, ctx)] == ["一", "二", "三"]
    assert ctx.errors == []
    dead = Source(id="app3", kind="app", name="dead", locator=http_server.url + "/api/none")
    assert list(plugin_for(dead).samples(dead, ctx)) == []
    assert "HTTP 404" in ctx.errors[-1][1]
