"""The crawler against a local website: robots.txt, sitemap, RSS, GBK/Big5 pages, redirects (and a loop),
404/500, a very slow endpoint; unchanged pages produce nothing on the next crawl."""

from __future__ import annotations

import json
import time

import pytest

from core.events import Source
from ingest.base import IngestContext, MemoryState, plugin_for
from ingest.webparse import decode_html, extract, parse_xml_links
from ingest.worker import IngestWorker

from .conftest import bus_samples

HTML = {"Content-Type": "text/html; charset=utf-8"}


def page(title: str, body: str, head: str = "") -> bytes:
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>".encode()


def build_site(srv) -> None:
    u = srv.url
    r = srv.routes
    r["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                        f"User-agent: *\nDisallow: /private/\nSitemap: {u}/sitemap.xml\n".encode())
    r["/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{u}/news/gbk.html</loc></url><url><loc>{u}/news/big5.html</loc></url>"
        f"<url><loc>{u}/private/secret.html</loc></url><url><loc>{u}/gone</loc></url>"
        f"<url><loc>{u}/broken</loc></url></urlset>").encode())
    r["/rss.xml"] = (200, {"Content-Type": "application/rss+xml"}, (
        f'<rss version="2.0"><channel><title>t</title><item><title>3</title><link>{u}/news/3.html</link></item>'
        "</channel></rss>").encode())
    ld = json.dumps({"@context": "https://schema.org", "@type": "TVEpisode", "name": "江南故事 第3集",
                     "partOfSeries": {"@type": "TVSeries", "name": "江南故事"}}, ensure_ascii=False)
    r["/"] = (200, HTML, page("首页", '<a href="/news/1.html">一</a> <a href="/loop1">loop</a>'
                                      ' <a href="/slow">slow</a> <a href="/private/x.html">p</a>'
                                      ' <a href="/moved">moved</a> <a href="http://example.invalid/x">ext</a>'
                                      "<script>var hidden='脚本文字';</script><p>欢迎 收看</p>"))
    r["/news/1.html"] = (200, HTML, page("新闻一", "<p>今日 节目 预告</p>",
                                           f'<script type="application/ld+json">{ld}</script>'))
    r["/news/2.html"] = (200, HTML, page("新闻二", "<p>第二条新闻</p>"))
    r["/news/3.html"] = (200, HTML, page("新闻三", "<p>订阅里的新闻</p>"))
    r["/news/gbk.html"] = (200, {"Content-Type": "text/html"}, (
        '<html><head><meta charset="gbk"><title>国标页面</title></head><body><p>江苏 频道 简体中文</p></body></html>'
    ).encode("gbk"))
    r["/news/big5.html"] = (200, {"Content-Type": "text/html; charset=big5"}, (
        "<html><head><title>繁體頁面</title></head><body><p>電視節目 繁體中文</p></body></html>").encode("big5"))
    r["/private/secret.html"] = (200, HTML, page("secret", "<p>不应抓取</p>"))
    r["/private/x.html"] = (200, HTML, page("secret", "<p>不应抓取</p>"))
    r["/loop1"] = (302, {"Location": "/loop2"}, b"")
    r["/loop2"] = (302, {"Location": "/loop1"}, b"")
    r["/moved"] = (301, {"Location": "/news/2.html"}, b"")
    r["/broken"] = (500, HTML, page("error", "<p>服务器错误</p>"))

    def slow(_h):
        time.sleep(3)
        return 200, HTML, page("slow", "<p>太慢</p>")

    r["/slow"] = slow


def site_source(srv, **opts) -> Source:
    return Source(id="site1", kind="website", name="site", locator=srv.url + "/",
                  options={"rate": 200, "timeout": 1.0, "depth": 1, "feeds": ["/rss.xml"], **opts})


def test_crawl_reaches_the_bus_politely(http_server, services):
    build_site(http_server)
    worker = IngestWorker(services)
    src = site_source(http_server)
    n = worker.run_source_once(src)
    got = bus_samples(services.bus)
    assert n == len(got)
    by_path = {s["metadata"]["url"].replace(http_server.url, ""): s for s in got}
    assert set(by_path) == {"/", "/news/1.html", "/news/2.html", "/news/3.html", "/news/gbk.html", "/news/big5.html"}
    assert all(s["kind"] == "page" and s["source_id"] == "site1" for s in got)
    assert "江苏 频道 简体中文" in by_path["/news/gbk.html"]["text"]
    assert by_path["/news/gbk.html"]["metadata"]["title"] == "国标页面"
    assert "電視節目 繁體中文" in by_path["/news/big5.html"]["text"]
    assert by_path["/news/1.html"]["metadata"]["program"] == "江南故事 第3集"
    assert by_path["/news/1.html"]["metadata"]["series"] == "江南故事"
    home = by_path["/"]["text"]
    assert "欢迎 收看" in home and "脚本文字" not in home  # visible text only
    assert by_path["/news/2.html"]["metadata"]["title"] == "新闻二"  # reached through the 301
    # nothing from disallowed paths, not even a request
    assert not [h for h in http_server.hits if h.startswith("/private")]
    health = worker.registry.health("site1")
    assert health["errors_total"] == 4  # 404, 500, redirect loop, timeout
    stats = worker.extras["web_stats"]["site1"]
    assert sorted(u.replace(http_server.url, "") for u in stats.error_urls) == ["/broken", "/gone", "/loop1", "/slow"]
    assert stats.disallowed == 2

    # unchanged pages produce nothing; a changed page produces exactly one sample
    http_server.routes["/news/3.html"] = (200, HTML, page("新闻三", "<p>订阅里的新闻 已更新</p>"))
    n2 = worker.run_source_once(src)
    again = bus_samples(services.bus)
    assert n2 == 1 and len(again) == 1
    assert again[0]["metadata"]["url"].endswith("/news/3.html") and "已更新" in again[0]["text"]


def test_include_exclude_and_depth(http_server, tmp_path):
    from core.blobs import open_blobs

    build_site(http_server)
    ctx = IngestContext(blobs=open_blobs(f"file://{tmp_path}/b"), state=MemoryState())
    src = site_source(http_server, depth=0, feeds=[], exclude=[r"/news/big5"], include=[r"/news/"])
    urls = [s.metadata["url"].replace(http_server.url, "") for s in plugin_for(src).samples(src, ctx)]
    # depth 0: the start page and the sitemap's pages only; include/exclude filter the discovered ones
    assert sorted(urls) == ["/", "/news/gbk.html"]
    assert "/news/1.html" not in http_server.hits


def test_robots_5xx_holds_the_crawl(http_server, tmp_path):
    from core.blobs import open_blobs

    build_site(http_server)
    http_server.routes["/robots.txt"] = (503, {}, b"busy")
    ctx = IngestContext(blobs=open_blobs(f"file://{tmp_path}/b"))
    src = site_source(http_server)
    assert list(plugin_for(src).samples(src, ctx)) == []
    assert any("robots.txt" in reason for _, reason in ctx.errors)
    assert http_server.hits == ["/robots.txt"]


def test_local_html_file_and_helpers(tmp_path):
    from core.blobs import open_blobs

    f = tmp_path / "page.html"
    f.write_bytes('<html><head><meta charset="gb2312"><title>本地</title></head><body>你好 世界</body></html>'
                  .encode("gb2312"))
    ctx = IngestContext(blobs=open_blobs(f"file://{tmp_path}/b"))
    src = Source(id="local", kind="file", name="p", locator=str(f))
    assert plugin_for(src).name == "web"
    out = list(plugin_for(src).samples(src, ctx))
    assert len(out) == 1 and out[0].text == "你好 世界" and out[0].metadata["title"] == "本地"
    assert list(plugin_for(src).samples(src, ctx)) == []  # unchanged
    text, enc = decode_html("简体".encode("gb18030"), None)
    assert text == "简体" and enc == "gb18030"
    assert extract("<p>a</p><a href='b.html#x'>b</a>", "http://h/d/").links == ["http://h/d/b.html"]
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="http://h/1"/></entry></feed>')
    assert parse_xml_links(atom) == (["http://h/1"], [])
    with pytest.raises(ValueError):
        parse_xml_links(b'<!DOCTYPE x [<!ENTITY a "b">]><urlset/>')
