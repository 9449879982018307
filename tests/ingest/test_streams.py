"""Network streams on loopback: HLS VOD with variants, live HLS that drops and comes back, a malformed
playlist, MPEG-TS over UDP. Samples go through the worker onto the embedded bus."""

from __future__ import annotations

import socket
import threading
import time

import av
import pytest

from core.errors import MediaError
from core.events import SamplingProfile, Source
from ingest.base import IngestContext, plugin_for
from ingest.worker import IngestWorker

from .conftest import LiveHls, bus_samples, playlist, segments

FAST = {"stall_seconds": 2, "reconnect_base": 0.2, "reconnect_max": 1.0, "open_timeout": 5}
PROFILE = SamplingProfile(frames_per_second=1, keyframe_interval=2, audio_chunk_seconds=2,
                          audio_overlap_seconds=0.5)


def frame_times(paths) -> set[float]:
    out: set[float] = set()
    for p in paths:
        with av.open(str(p)) as c:
            out |= {round(float(f.time), 3) for f in c.decode(video=0)}
    return out


def serve_vod(server, media_dir) -> None:
    for variant in ("hi", "lo"):
        segs = segments(media_dir, variant)
        server.routes[f"/vod/{variant}.m3u8"] = (200, {}, playlist(segs, 0, len(segs), prefix=f"{variant}/", end=True))
        for name, _, data in segs:
            server.routes[f"/vod/{variant}/{name}"] = (200, {"Content-Type": "video/mp2t"}, data)
    master = (b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120\nlo.m3u8\n"
              b"#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x240\nhi.m3u8\n")
    server.routes["/vod/master.m3u8"] = (200, {}, master)


@pytest.mark.parametrize("variant,size", [("lowest", (160, 120)), ("highest", (320, 240)), (200, (160, 120))])
def test_hls_vod_variant_choice(http_server, media_dir, services, variant, size):
    serve_vod(http_server, media_dir)
    src = Source(id=f"vod-{variant}", kind="ott", name="vod", locator=http_server.url + "/vod/master.m3u8",
                 profile=PROFILE, options={**FAST, "variant": variant})
    worker = IngestWorker(services)
    n = worker.run_source_once(src, max_seconds=60)
    got = [s for s in bus_samples(services.bus) if s["source_id"] == src.id]
    assert n == len(got)
    frames = [s for s in got if s["kind"] == "video_frame"]
    assert {(f["metadata"]["width"], f["metadata"]["height"]) for f in frames} == {size}
    expected = 6 if size == (160, 120) else 10
    assert len(frames) == expected  # one per second of a VOD that ends (#EXT-X-ENDLIST)
    assert [s["kind"] for s in got].count("media_end") == 1 and got[-1]["kind"] == "media_end"
    requested = {h.split("/")[2] for h in http_server.hits if h.count("/") >= 3}
    assert requested == {"lo" if size == (160, 120) else "hi"}  # only the chosen variant was read


def test_malformed_playlist_is_reported_not_sampled(http_server, services):
    http_server.routes["/bad.m3u8"] = (200, {}, b"<html>this is not a playlist</html>")
    live = Source(id="bad-live", kind="iptv", name="bad", locator=http_server.url + "/bad.m3u8", options=FAST)
    worker = IngestWorker(services)
    n = worker.run_source_once(live, max_seconds=2.5)
    got = bus_samples(services.bus)
    assert [s["kind"] for s in got] == ["media_end"] and n == 1  # one loss signal, not one per retry
    assert got[0]["metadata"]["signal"] == "lost" and "malformed" in got[0]["metadata"]["reason"]
    health = worker.registry.health("bad-live")
    assert health["errors_total"] >= 2 and "malformed" in health["last_error"]
    assert health["state"] == "ok"  # it produced the loss signal; errors are counted
    vod = Source(id="bad-vod", kind="ott", name="bad", locator=http_server.url + "/bad.m3u8",
                 options={**FAST, "live": False})
    with pytest.raises(MediaError, match="malformed"):
        worker.run_source_once(vod)
    assert worker.registry.health("bad-vod")["state"] == "error"


def test_live_hls_drops_and_comes_back_without_duplicates(http_server, media_dir, services):
    segs = segments(media_dir, "hi")
    live = LiveHls(http_server, segs, window=2)
    src = Source(id="live1", kind="iptv", name="江苏卫视", locator=live.url, profile=PROFILE,
                 options={**FAST, "channel": "JSTV"})
    worker = IngestWorker(services)
    result: dict[str, int] = {}
    t = threading.Thread(target=lambda: result.setdefault("n", worker.run_source_once(src, max_seconds=14)))
    t.start()
    time.sleep(3.0)
    live.down()
    time.sleep(3.5)
    live.up()
    t.join(timeout=60)
    got = bus_samples(services.bus)
    assert result["n"] == len(got)
    ids = [s["id"] for s in got]
    assert len(ids) == len(set(ids))
    frames = [s for s in got if s["kind"] == "video_frame"]
    times = [f["media_start"] for f in frames]
    assert times == sorted(times) and len(set(times)) == len(times)  # no duplicates after the reconnect
    valid = frame_times(media_dir / "hi" / name for name, _, _ in segs)
    assert set(times) <= valid  # each sampled frame carries its own pts
    assert all(abs((x - times[0]) - round(x - times[0])) < 0.002 for x in times)  # 1 fps grid
    assert all(f["metadata"]["channel"] == "JSTV" for f in frames)
    kinds = [(s["kind"], s["metadata"].get("signal")) for s in got]
    lost = kinds.index(("media_end", "lost"))
    assert lost > 0
    restored = [i for i, s in enumerate(got) if s["metadata"].get("signal") == "restored"]
    assert restored and restored[0] > lost
    assert got[lost]["media_start"] >= max(f["media_start"] for f in frames[: sum(1 for i, s in enumerate(got)
                                                                                   if i < lost and s["kind"] == "video_frame")])
    before = [s["media_start"] for s in got[:lost] if s["kind"] == "video_frame"]
    after = [s["media_start"] for s in got[restored[0]:] if s["kind"] == "video_frame"]
    assert before and after and min(after) > max(before)
    assert worker.registry.health("live1")["errors_total"] >= 1


def _udp_listening(port: int) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        probe.close()


def test_mpegts_over_udp(media_dir, tmp_path):
    from core.blobs import open_blobs

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    src = Source(id="udp1", kind="iptv", name="udp", locator=f"udp://127.0.0.1:{port}", profile=PROFILE,
                 options={**FAST, "stall_seconds": 1.5})
    ctx = IngestContext(blobs=open_blobs(f"file://{tmp_path / 'b'}"), deadline=time.monotonic() + 12)
    assert plugin_for(src).is_live(src)
    out: list = []
    reader = threading.Thread(target=lambda: out.extend(plugin_for(src).samples(src, ctx)))
    reader.start()
    for _ in range(100):
        if _udp_listening(port):
            break
        time.sleep(0.05)
    data = (media_dir / "clip.ts").read_bytes()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(0, len(data), 1316):
        tx.sendto(data[i:i + 1316], ("127.0.0.1", port))
        time.sleep(0.01)
    tx.close()
    time.sleep(3)
    ctx.stop.set()
    reader.join(timeout=30)
    frames = [x for x in out if x.kind == "video_frame"]
    assert frames, ctx.errors
    valid = frame_times([media_dir / "clip.ts"])
    times = [f.media_start for f in frames]
    assert set(times) <= valid and times == sorted(times)
    assert all(f.metadata["width"] == 320 for f in frames)
    assert any(x.kind == "audio_chunk" for x in out)
    ends = [x for x in out if x.kind == "media_end"]
    assert ends and ends[0].metadata.get("signal") == "lost"  # the sender stopped: a stall


def test_progressive_http_file(http_server, media_dir, services):
    http_server.routes["/media/clip.ts"] = (200, {"Content-Type": "video/mp2t"}, (media_dir / "clip.ts").read_bytes())
    src = Source(id="http-file", kind="file", name="clip over http", locator=http_server.url + "/media/clip.ts",
                 profile=PROFILE)
    assert plugin_for(src).name == "media" and not plugin_for(src).is_live(src)
    worker = IngestWorker(services)
    assert worker.run_source_once(src) > 0
    got = bus_samples(services.bus)
    frames = [s["media_start"] for s in got if s["kind"] == "video_frame"]
    assert frames == sorted(frame_times([media_dir / "clip.ts"]))[::10][: len(frames)] and len(frames) == 3
    assert got[-1]["kind"] == "media_end"
