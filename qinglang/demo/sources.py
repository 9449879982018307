"""Demo sources: the programme video, a local web page and a comment feed.

``prepare(data_dir)`` writes the files and returns Source records; the web
page is served by ``DemoSite`` on 127.0.0.1 (a free port).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from core.events import SamplingProfile, Source, SourceKind

PAGE_TERM = "百家乐"
PAGE_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>江苏某视听网站 · 新闻</title></head>
<body><nav>首页 | 新闻 | 节目</nav>
<article><h1>网络视听节目动态</h1>
<p>近日，有网友反映某平台短剧频道存在推广百家乐的弹窗广告，相关部门已介入核查。</p>
<p>本站提醒广大观众文明上网，抵制不良信息。</p></article>
<script>var tracking = "不应出现在正文中";</script>
</body></html>
"""

COMMENTS = [
    {"id": "c-1001", "account": "viewer_01", "text": "这部剧拍得真好，期待下一集！"},
    {"id": "c-1002", "account": "promo_888", "text": "兼职刷单返利，日结工资，私信我"},
    {"id": "c-1003", "account": "lucky_7", "text": "今晚六合彩开奖，内部资料加群领取"},
]
COMMENT_TERMS = {"c-1002": "刷单返利", "c-1003": "六合彩"}


@dataclass
class DemoFiles:
    root: Path
    video: Path
    site: Path
    comments: Path


def write_files(data_dir: Path) -> DemoFiles:
    from qinglang.demo.media import make_demo_video

    root = data_dir / "demo"
    site = root / "site"
    site.mkdir(parents=True, exist_ok=True)
    video = root / "programme.mp4"
    if not video.is_file():
        make_demo_video(video)
    (site / "index.html").write_text(PAGE_HTML, encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    comments = root / "comments.jsonl"
    comments.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in COMMENTS), encoding="utf-8")
    return DemoFiles(root=root, video=video, site=site, comments=comments)


class DemoSite:
    """Serves the demo web page on 127.0.0.1 in a background thread."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        handler = partial(_QuietHandler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="demo-site")

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}/index.html"

    def start(self) -> DemoSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def demo_sources(files: DemoFiles, site_url: str) -> list[Source]:
    return [
        Source(
            id="demo-tv", kind=SourceKind.IPTV, name="演示频道 · 江苏综合", operator="演示 IPTV 平台",
            licence="演示-0001", locator=str(files.video), tags=["jiangsu-related", "demo"],
            profile=SamplingProfile(frames_per_second=2.0, keyframe_interval=1.0, audio_chunk_seconds=10.0,
                                    audio_overlap_seconds=1.0),
        ),
        Source(
            id="demo-site", kind=SourceKind.WEBSITE, name="演示视听网站", operator="演示网络公司",
            licence="演示-0002", locator=site_url, tags=["demo"],
        ),
        Source(
            id="demo-comments", kind=SourceKind.COMMENTS, name="演示短剧评论", operator="演示小程序",
            licence="演示-0003", locator=str(files.comments), tags=["micro-drama", "demo"],
        ),
    ]
