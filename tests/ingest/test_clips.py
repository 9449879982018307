"""Evidence clips cut without re-encoding: from files (any process) and from a live stream's buffer."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import av
import numpy as np
import pytest

from core.errors import NotFound
from core.events import Evidence, Hit, utcnow
from ingest import clips
from ingest.clipbuf import ClipBuffer
from ingest.clips import ClipCutter, cut_media
from ingest.registry import SourceRegistry

FPS = 10
GOP_SECONDS = 2.0


def make_media(path: Path, seconds: int = 30) -> Path:
    """A programme made with PyAV: 320x240 H.264 at 10 fps (a keyframe every 2 s) and a mono AAC tone.
    ``.ts`` paths get the same packets remuxed into MPEG-TS."""
    mp4 = path.with_suffix(".mp4")
    with av.open(str(mp4), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        gop = str(int(GOP_SECONDS * FPS))
        vs.options = {"g": gop, "keyint_min": gop, "sc_threshold": "0", "preset": "ultrafast"}
        aus = out.add_stream("aac", rate=16000)
        aus.layout = "mono"
        for i in range(seconds * FPS):
            img = np.full((240, 320, 3), (i * 3) % 255, np.uint8)
            img[:, (i * 4) % 320] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(vs.encode(frame))
        n = 1024
        for t in range(0, seconds * 16000, n):
            x = (0.2 * np.sin(2 * np.pi * 440 * np.arange(t, t + n) / 16000)).astype(np.float32)[None, :]
            af = av.AudioFrame.from_ndarray(x, format="fltp", layout="mono")
            af.sample_rate, af.pts = 16000, t
            out.mux(aus.encode(af))
        out.mux(vs.encode())
        out.mux(aus.encode())
    if path.suffix != ".ts":
        return mp4
    with av.open(str(mp4)) as src, av.open(str(path), "w", format="mpegts") as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {"mp4": make_media(d / "programme.mp4"), "ts": make_media(d / "programme.ts")}


def _frames(data: bytes | str) -> dict[float, np.ndarray]:
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    with av.open(src) as c:
        return {round(float(f.time), 3): f.to_ndarray(format="rgb24") for f in c.decode(video=0)}


@pytest.mark.parametrize("kind", ["mp4", "ts"])
def test_clip_of_twenty_seconds_is_copied_not_reencoded(media, kind):
    t = 15.0
    data = cut_media(str(media[kind]), t - 10, t + 10)
    with av.open(io.BytesIO(data)) as clip, av.open(str(media[kind])) as src:
        assert clip.format.name == "mpegts"
        cv, sv = clip.streams.video[0].codec_context, src.streams.video[0].codec_context
        assert (cv.name, cv.width, cv.height, cv.pix_fmt, cv.profile) == (sv.name, sv.width, sv.height,
                                                                             sv.pix_fmt, sv.profile)
        ca, sa = clip.streams.audio[0].codec_context, src.streams.audio[0].codec_context
        assert (ca.name, ca.sample_rate, ca.channels) == (sa.name, sa.sample_rate, sa.channels)
    frames = _frames(data)
    times = sorted(frames)
    # starts at the last keyframe at or before t - 10 and ends at t + 10: 20 s, plus at most one GOP
    assert t - 10 - GOP_SECONDS <= times[0] <= t - 10
    assert t + 10 - 1.0 / FPS - 0.07 <= times[-1] <= t + 10 + 0.001
    assert 20.0 <= times[-1] - times[0] + 1.0 / FPS <= 20.0 + GOP_SECONDS + 0.1
    # no re-encoding: every decoded picture is bit-identical to the source's picture at that time
    source = _frames(str(media[kind]))
    assert all(np.array_equal(img, source[ts]) for ts, img in frames.items())
    # the clip is deterministic: the same span gives the same bytes
    assert cut_media(str(media[kind]), t - 10, t + 10) == data


def test_clips_near_the_ends_and_beyond(media):
    start = _frames(cut_media(str(media["mp4"]), 0.0, 10.0))
    assert min(start) == 0.0 and max(start) <= 10.0
    tail = _frames(cut_media(str(media["mp4"]), 22.0, 40.0))
    assert min(tail) == 22.0 and max(tail) == pytest.approx(29.9)
    with pytest.raises(NotFound):
        cut_media(str(media["mp4"]), 40.0, 50.0)


@pytest.fixture
def registry(services) -> SourceRegistry:
    return SourceRegistry(services.db)


def _hit(source_id: str, at: float | None, end: float | None = None, hid: str = "hit-1") -> Hit:
    return Hit(id=hid, sample_id="smp-1", source_id=source_id, detector="black", detected_at=utcnow(),
               origin="video_frame", evidence=Evidence(media_start=at, media_end=end))


def test_cutter_gives_one_clip_per_window_of_a_file_source(services, registry, media):
    registry.add(id="tv", kind="iptv", name="TV", locator=str(media["ts"]))
    cutter = ClipCutter(services.blobs, registry.source)
    ref = cutter(_hit("tv", 13.0))
    assert ref is not None and ref.endswith(".ts") and services.blobs.exists(ref)
    times = sorted(_frames(services.blobs.get(ref)))
    assert times[0] <= 3.0 and times[-1] >= 23.0  # ten seconds either side of the hit
    assert cutter(_hit("tv", 17.5, hid="hit-2")) == ref  # same ten seconds: the same clip
    assert cutter(_hit("tv", 21.0, hid="hit-3")) not in (ref, None)
    assert cutter.window(13.0, None) == (0.0, 30.0)
    assert cutter.window(25.0, 400.0) == (10.0, 70.0)  # a long segment: its first half minute


def test_no_clip_is_a_logged_reason_never_an_error(services, registry, media, tmp_path, caplog):
    gone = tmp_path / "gone.mp4"
    gone.write_bytes(media["mp4"].read_bytes())
    registry.add(id="tv", kind="file", name="TV", locator=str(gone))
    registry.add(id="site", kind="website", name="Site", locator="http://127.0.0.1:9/")
    registry.add(id="udp", kind="iptv", name="UDP", locator="udp://127.0.0.1:1234")
    gone.unlink()
    cutter = ClipCutter(services.blobs, registry.source)
    with caplog.at_level(logging.INFO, logger="qinglang.ingest.clips"):
        assert cutter(_hit("tv", 12.0)) is None
        assert cutter(_hit("site", 12.0)) is None
        assert cutter(_hit("udp", 12.0)) is None
        assert cutter(_hit("nosuch", 12.0)) is None
        assert cutter(_hit("tv", None)) is None  # a text hit: nothing to cut, nothing to say
    reasons = " ".join(r.getMessage() for r in caplog.records)
    assert "gone.mp4" in reasons and "not a stream" in reasons and "not being read" in reasons
    assert len(caplog.records) == 4


def _fill(buffer: ClipBuffer, path: Path, since: float, until: float) -> None:
    """What a reader adds while it reads ``(since, until]`` of the stream (one connection)."""
    with av.open(str(path)) as src:
        streams = [src.streams.video[0], src.streams.audio[0]]
        if since < 0:
            buffer.new_epoch({s.type: s for s in streams})
        for packet in src.demux(*streams):
            if packet.pts is None:
                continue
            t = float(packet.pts * packet.time_base)
            if since < t <= until:
                buffer.add(packet.stream.type, t, packet)


def test_live_clips_come_from_the_readers_buffer(services, registry, media):
    registry.add(id="live", kind="iptv", name="Live", locator="udp://127.0.0.1:1234")
    buffer = ClipBuffer(services.blobs, max_seconds=60)
    _fill(buffer, media["ts"], -1.0, 22.0)
    clips.publish("live", buffer)
    try:
        cutter = ClipCutter(services.blobs, registry.source)
        early = cutter(_hit("live", 12.0))  # the buffer has not reached 30 s yet: a shorter clip ...
        assert early is not None and max(_frames(services.blobs.get(early))) <= 22.0
        _fill(buffer, media["ts"], 22.0, 30.0)
        full = cutter(_hit("live", 14.0, hid="hit-2"))  # ... cut again, longer, by the next hit
        assert full != early and max(_frames(services.blobs.get(full))) >= 24.0
        assert cutter(_hit("live", 15.0, hid="hit-3")) == full
    finally:
        clips.withdraw("live", buffer)
    assert clips.live_buffer("live") is None


def test_a_live_hit_gets_the_full_clip_once_the_stream_reached_it(services, registry, media):
    registry.add(id="live", kind="iptv", name="Live", locator="udp://127.0.0.1:1234")
    buffer = ClipBuffer(services.blobs, max_seconds=60)
    _fill(buffer, media["ts"], -1.0, 16.0)
    clips.publish("live", buffer)
    updated: list[dict] = []
    try:
        cutter = ClipCutter(services.blobs, registry.source, on_late=updated.extend, background=False)
        hit = _hit("live", 13.0)
        early = cutter(hit)  # what the stream jobs index at once
        assert early is not None and max(_frames(services.blobs.get(early))) <= 16.0
        assert cutter.flush_late() == 1 and not updated  # the stream has not reached 30 s yet
        _fill(buffer, media["ts"], 16.0, 30.0)
        assert cutter.flush_late() == 0
        assert [u["id"] for u in updated] == [hit.id] and updated[0]["evidence"]["media_start"] == 13.0
        full = updated[0]["evidence"]["clip"]
        times = sorted(_frames(services.blobs.get(full)))
        assert times[0] <= 3.0 and times[-1] >= 23.0
        assert cutter(_hit("live", 14.0, hid="hit-2")) == full
    finally:
        clips.withdraw("live", buffer)


def test_a_reader_publishes_its_buffer_while_it_reads(services, registry, tmp_path):
    from ingest.worker import IngestWorker

    video = make_media(tmp_path / "short.ts", seconds=4)
    registry.add(id="tv", kind="iptv", name="TV", locator=str(video))
    seen: list[object] = []
    n = IngestWorker(services).run_source_once("tv", on_sample=lambda s: seen.append(clips.live_buffer("tv")))
    assert n == len(seen) > 0 and isinstance(seen[0], ClipBuffer)
    assert clips.live_buffer("tv") is None  # withdrawn when the reader ended
