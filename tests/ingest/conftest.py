"""Ingest fixtures: real loopback servers made by the tests, tiny generated media, a migrated data dir."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

from core.events import Topic
from core.services import Services

Route = Callable[["Handler"], tuple[int, dict[str, str], bytes]]


class Handler(BaseHTTPRequestHandler):
    server: LoopServer

    def do_GET(self) -> None:  # noqa: N802
        path = self.path
        self.server.hits.append(path)
        route = self.server.routes.get(path) or self.server.routes.get(path.split("?", 1)[0])
        if route is None:
            status, headers, body = 404, {"Content-Type": "text/html"}, b"<h1>not found</h1>"
        elif callable(route):
            status, headers, body = route(self)
        else:
            status, headers, body = route
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


class LoopServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Any] = {}
        self.hits: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def http_server():
    srv = LoopServer()
    yield srv
    srv.stop()


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Tiny media made once: 10 s of 320x240@10fps + 440 Hz tone as HLS (1 s segments, ``hi``),
    6 s of a 160x120 variant (``lo``), a 3 s H.264 MPEG-TS file (``clip.ts``) and 2 s of MPEG-2 video
    (``mpeg2.ts``)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to generate test media")
    d = tmp_path_factory.mktemp("media")
    common = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",
              "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k", "-ac", "1"]
    src = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=16000", "-t", "6"]
    (d / "hi").mkdir()
    _ffmpeg(*src[:8], "-t", "10", *common, "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
            "-hls_segment_filename", str(d / "hi" / "seg%03d.ts"), str(d / "hi" / "index.m3u8"))
    (d / "lo").mkdir()
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i",
            "sine=frequency=440:sample_rate=16000", "-t", "6", *common, "-f", "hls", "-hls_time", "1",
            "-hls_list_size", "0", "-hls_segment_filename", str(d / "lo" / "seg%03d.ts"), str(d / "lo" / "index.m3u8"))
    _ffmpeg(*src[:8], "-t", "3", *common, "-f", "mpegts", str(d / "clip.ts"))
    _ffmpeg(*src[:8], "-t", "2", "-c:v", "mpeg2video", "-g", "10", "-c:a", "mp2", "-f", "mpegts", str(d / "mpeg2.ts"))
    return d


def segments(media_dir: Path, variant: str = "hi") -> list[tuple[str, float, bytes]]:
    """(name, duration, bytes) of the generated HLS segments."""
    text = (media_dir / variant / "index.m3u8").read_text()
    out, dur = [], 0.0
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            dur = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            out.append((line, dur, (media_dir / variant / line).read_bytes()))
    return out


def playlist(segs: list[tuple[str, float, bytes]], first: int, count: int, prefix: str = "", end: bool = False) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for name, dur, _ in segs[first:first + count]:
        lines += [f"#EXTINF:{dur:.3f},", prefix + name]
    if end:
        lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


class LiveHls:
    """A live HLS playlist on a LoopServer: a sliding window over the segments that advances
    with wall time; ``down()`` makes everything answer 503 until ``up()``; after the last segment
    the playlist stops changing (a stall)."""

    def __init__(self, server: LoopServer, segs: list[tuple[str, float, bytes]], window: int = 3,
                 seg_seconds: float = 1.0) -> None:
        self.server, self.segs, self.window, self.seg_seconds = server, segs, window, seg_seconds
        self.t0 = time.monotonic()
        self.is_down = False
        for name, _, data in segs:
            server.routes[f"/live/{name}"] = self._seg(data)
        server.routes["/live/index.m3u8"] = self._playlist

    def _seg(self, data: bytes) -> Route:
        def route(_h: Handler) -> tuple[int, dict[str, str], bytes]:
            if self.is_down:
                return 503, {}, b"down"
            return 200, {"Content-Type": "video/mp2t"}, data
        return route

    def position(self) -> int:
        return min(len(self.segs), int((time.monotonic() - self.t0) / self.seg_seconds) + self.window)

    def _playlist(self, _h: Handler) -> tuple[int, dict[str, str], bytes]:
        if self.is_down:
            return 503, {}, b"down"
        last = self.position()
        first = max(0, last - self.window)
        return 200, {"Content-Type": "application/vnd.apple.mpegurl"}, playlist(self.segs, first, last - first)

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    @property
    def url(self) -> str:
        return self.server.url + "/live/index.m3u8"


@pytest.fixture
def services(migrated_services: Services) -> Services:
    """A migrated data dir in tmp_path (tests/conftest.py)."""
    return migrated_services


def bus_samples(bus: Any, group: str = "test-reader") -> list[dict[str, Any]]:
    """Every sample record on qinglang.samples (values), read through a consumer group."""
    out: list[dict[str, Any]] = []
    bus.ensure_topics([Topic.SAMPLES.value])
    with bus.consumer(group, [Topic.SAMPLES.value]) as c:
        while True:
            recs = c.poll(max_records=500, timeout=0.2)
            if not recs:
                break
            for r in recs:
                assert r.key == r.value["source_id"]
                out.append(r.value)
            c.commit(recs)
    return out
