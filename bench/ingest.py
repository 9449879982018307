"""`qinglang bench ingest`: CPU and memory per live HLS source at the default sampling profile.

The same HLS stream (made here with PyAV, served on loopback) is read twice,
each time in a fresh process:

- baseline: plain PyAV decoding of every video and audio frame (no sampling);
- ingest: ``IngestWorker.run_source_once`` at the default profile (frames,
  JPEG, audio chunks, blobs, the embedded bus, health rows).

Reported: CPU seconds per second of media and the peak extra resident memory of
each, the ratio ingest / baseline, and how many real-time sources one core
sustains (media seconds per CPU second).
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import threading
import time
from fractions import Fraction
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def make_hls(folder: Path, width: int, height: int, fps: int, seconds: int) -> Path:
    """H.264 + AAC HLS (2 s segments) of a moving pattern and a tone, encoded with PyAV."""
    import av
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    playlist = folder / "index.m3u8"
    out = av.open(str(playlist), "w", format="hls", options={"hls_time": "2", "hls_list_size": "0",
                                                             "hls_playlist_type": "vod"})
    v = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(fps * 2)})
    v.width, v.height, v.pix_fmt = width, height, "yuv420p"
    a = out.add_stream("aac", rate=48000)
    a.layout = "stereo"
    yy, xx = np.mgrid[0:height, 0:width]
    samples_per_frame = 1024
    t_audio = 0
    for i in range(seconds * fps):
        img = np.stack([(xx + i * 4) % 256, (yy + i * 2) % 256, (xx + yy + i) % 256], axis=-1).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        out.mux(v.encode(frame))
        while t_audio < (i + 1) * 48000 / fps:
            t = (np.arange(samples_per_frame) + t_audio) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = 48000, t_audio, Fraction(1, 48000)
            out.mux(a.encode(af))
            t_audio += samples_per_frame
    out.mux(v.encode(None))
    out.mux(a.encode(None))
    out.close()
    return playlist


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _rss_kib(field: str = "VmRSS") -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _Peak(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stop = _rss_kib(), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, _rss_kib())


def _child(kind: str, url: str, data_dir: str, queue: Any) -> None:
    import av

    before = _rss_kib()
    if kind == "ingest":
        from core.events import Source
        from core.services import Services
        from core.settings import Settings
        from ingest.worker import IngestWorker
        from qinglang.wiring import migrate_all

        settings = Settings(data_dir=Path(data_dir))
        settings.ensure_data_dir()
        migrate_all(settings.db_url)
        worker = IngestWorker(Services(settings))
        source = Source(id="bench-hls", kind="ott", name="bench", locator=url, options={"live": False})
        from ingest.base import plugins

        plugins()  # imports (PyAV, httpx, selectolax) outside the measurement
        before = _rss_kib()
    peak = _Peak()
    peak.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    media_seconds, samples = 0.0, 0
    if kind == "ingest":
        samples = worker.run_source_once(source)
    else:
        with av.open(url) as c:
            for frame in c.decode(*(c.streams.video[:1] + c.streams.audio[:1])):
                if frame.time is not None:
                    media_seconds = max(media_seconds, float(frame.time))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    peak.stop.set()
    peak.join()
    if kind == "ingest":
        with av.open(url) as c:
            media_seconds = float(c.duration or 0) / 1e6
    queue.put({"cpu_s": cpu, "wall_s": wall, "media_s": media_seconds, "samples": samples,
               "peak_extra_mib": max(0, peak.peak - before) / 1024})


def _measure(kind: str, url: str, data_dir: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_child, args=(kind, url, data_dir, queue))
    p.start()
    result = queue.get(timeout=900)
    p.join(timeout=60)
    return result


def run(progress: bool = True, quick: bool = False) -> dict[str, Any]:
    width, height, fps, seconds = (320, 240, 25, 6) if quick else (960, 540, 25, 20)
    say = print if progress else (lambda *a, **k: None)
    with tempfile.TemporaryDirectory(prefix="qinglang-bench-ingest-") as tmp:
        root = Path(tmp)
        say(f"making a {seconds}s {width}x{height}@{fps} HLS stream with PyAV …")
        make_hls(root / "hls", width, height, fps, seconds)
        handler = partial(_QuietHandler, directory=str(root / "hls"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.m3u8"
        try:
            say("baseline: plain PyAV decoding …")
            base = _measure("baseline", url, str(root / "base"))
            say("ingest at the default profile …")
            ing = _measure("ingest", url, str(root / "data"))
        finally:
            server.shutdown()
            server.server_close()
    media = ing["media_s"] or base["media_s"] or seconds
    base_cpu_per_s = base["cpu_s"] / media
    ing_cpu_per_s = ing["cpu_s"] / media
    result = {
        "stream": f"{width}x{height}@{fps} H.264+AAC, {media:.1f}s, HLS over loopback",
        "baseline_cpu_s_per_media_s": round(base_cpu_per_s, 4),
        "ingest_cpu_s_per_media_s": round(ing_cpu_per_s, 4),
        "cpu_ratio_ingest_vs_decode": round(ing_cpu_per_s / base_cpu_per_s, 3) if base_cpu_per_s else None,
        "baseline_peak_extra_mib": round(base["peak_extra_mib"], 1),
        "ingest_peak_extra_mib": round(ing["peak_extra_mib"], 1),
        "samples": ing["samples"],
        "sources_per_core_ingest": round(1 / ing_cpu_per_s, 1) if ing_cpu_per_s else None,
        "sources_per_core_decode_only": round(1 / base_cpu_per_s, 1) if base_cpu_per_s else None,
    }
    if progress:
        print(f"stream: {result['stream']}")
        print(f"plain PyAV decode : {base_cpu_per_s:.3f} CPU s per media s, peak +{base['peak_extra_mib']:.0f} MiB")
        print(f"ingest (default)  : {ing_cpu_per_s:.3f} CPU s per media s, peak +{ing['peak_extra_mib']:.0f} MiB, "
              f"{ing['samples']} samples")
        print(f"ratio ingest / decode: {result['cpu_ratio_ingest_vs_decode']}x CPU; "
              f"one core sustains ~{result['sources_per_core_ingest']} real-time sources "
              f"(decode only: ~{result['sources_per_core_decode_only']})")
    return result


if __name__ == "__main__":
    run(quick=True)
