"""The PyAV media plugin on local files: timecodes, keyframes, audio chunks, clips, splices."""

from __future__ import annotations

import io
import wave

import av
import pytest

from core.blobs import open_blobs
from core.errors import MediaError
from core.events import SamplingProfile, Source
from ingest import media
from ingest.base import IngestContext, plugin_for

PROFILE = SamplingProfile(frames_per_second=1, keyframe_interval=2, audio_chunk_seconds=1.0,
                          audio_overlap_seconds=0.25)


def video_times(path) -> list[float]:
    with av.open(str(path)) as c:
        return [round(float(f.time), 3) for f in c.decode(video=0)]


@pytest.fixture
def ctx(tmp_path):
    return IngestContext(blobs=open_blobs(f"file://{tmp_path / 'blobs'}"))


def test_file_frames_audio_and_end(media_dir, ctx):
    path = media_dir / "clip.ts"
    src = Source(id="f1", kind="file", name="clip", locator=str(path), profile=PROFILE)
    assert plugin_for(src).name == "media"
    out = list(plugin_for(src).samples(src, ctx))
    frames = [s for s in out if s.kind == "video_frame"]
    times = video_times(path)
    first = times[0]
    # one frame per second of stream time, anchored at the first frame, with the frame's own pts
    assert [s.media_start for s in frames] == [round(first + k, 3) for k in range(len(frames))]
    assert len(frames) == 3
    assert all(s.media_start in times for s in frames)
    assert [s.metadata["keyframe"] for s in frames] == [True, False, True]
    img = av.open(io.BytesIO(ctx.blobs.get(frames[0].blob)))
    frame = next(img.decode(video=0))
    assert (frame.width, frame.height) == (320, 240) and frames[0].metadata["width"] == 320
    audio = [s for s in out if s.kind == "audio_chunk"]
    assert len(audio) >= 3
    for a, b in zip(audio, audio[1:], strict=False):
        assert b.media_start == pytest.approx(a.media_start + 0.75, abs=0.002)  # hop = chunk - overlap
    with wave.open(io.BytesIO(ctx.blobs.get(audio[0].blob))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        assert w.getnframes() == 16000
    assert audio[0].media_end - audio[0].media_start == pytest.approx(1.0, abs=0.001)
    ends = [s for s in out if s.kind == "media_end"]
    assert len(ends) == 1 and out[-1].kind == "media_end" and "signal" not in ends[0].metadata
    assert ends[0].media_start >= frames[-1].media_start
    ids = [s.id for s in out]
    assert len(ids) == len(set(ids))
    again = list(plugin_for(src).samples(src, ctx))  # re-ingesting gives the same ids
    assert [s.id for s in again] == ids


def test_missing_and_garbage_files_raise_media_error(tmp_path, ctx):
    missing = Source(id="m", kind="file", name="m", locator=str(tmp_path / "nope.mp4"))
    with pytest.raises(MediaError, match="does not exist"):
        list(plugin_for(missing).samples(missing, ctx))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    bad = Source(id="j", kind="file", name="j", locator=str(junk))
    with pytest.raises(MediaError, match="cannot open media"):
        list(plugin_for(bad).samples(bad, ctx))


def test_evidence_clip_from_rolling_buffer(media_dir, ctx):
    src = Source(id="c1", kind="file", name="clip", locator=str(media_dir / "clip.ts"), profile=PROFILE)
    gen = plugin_for(src).samples(src, ctx)
    seen = []
    for s in gen:
        seen.append(s)
        if s.kind == "video_frame" and len([x for x in seen if x.kind == "video_frame"]) == 3:
            break
    t = seen[-1].media_start
    ref = media.clip(ctx, "c1", t - 1.5, t)
    gen.close()
    assert ref.endswith(".ts")
    with av.open(str(ctx.blobs.path(ref))) as c:
        frames = [f for f in c.decode(video=0)]
    assert frames, "the clip decodes"
    assert frames[0].key_frame
    # starts at the keyframe at or before t0 (GOP = 1 s) and ends by t
    assert round(float(frames[0].time), 3) <= t - 1.5 + 1e-3
    assert round(float(frames[-1].time), 3) <= t + 0.2
    assert len(frames) >= 15  # at least 1.5 s of 10 fps video, not re-encoded
    with pytest.raises(Exception, match="not being read"):
        media.clip(ctx, "c1", 0, 1)


def test_splice_with_resolution_change_and_pts_jump(media_dir, tmp_path, ctx):
    hi = (media_dir / "hi" / "seg004.ts").read_bytes()  # 320x240, later pts
    lo = (media_dir / "lo" / "seg000.ts").read_bytes()  # 160x120, pts start again
    spliced = tmp_path / "spliced.ts"
    spliced.write_bytes(hi + lo)
    src = Source(id="sp", kind="file", name="spliced", locator=str(spliced),
                 profile=SamplingProfile(frames_per_second=5, keyframe_interval=1))
    frames = [s for s in plugin_for(src).samples(src, ctx) if s.kind == "video_frame"]
    sizes = [(s.metadata["width"], s.metadata["height"]) for s in frames]
    assert sizes[0] == (320, 240) and sizes[-1] == (160, 120)
    change = sizes.index((160, 120))
    assert frames[change].metadata.get("resolution_changed") is True
    assert sum(1 for s in frames if s.metadata.get("resolution_changed")) == 1
    times = [s.media_start for s in frames]
    assert times == sorted(times) and len(set(times)) == len(times)  # the timeline stays monotonic


def test_codec_change_mid_file_is_read_through(media_dir, tmp_path, ctx):
    spliced = tmp_path / "codec.ts"
    spliced.write_bytes((media_dir / "clip.ts").read_bytes() + (media_dir / "mpeg2.ts").read_bytes())
    src = Source(id="cc", kind="file", name="codec", locator=str(spliced), profile=PROFILE)
    out = list(plugin_for(src).samples(src, ctx))
    frames = [s for s in out if s.kind == "video_frame"]
    # 3 s of H.264, then 2 s of MPEG-2 video (the old decoder may still hand out one frame at the splice)
    assert len(frames) in (5, 6)
    changed = [s for s in frames if s.metadata.get("codec_changed")]
    assert len(changed) == 1 and changed[0].metadata["codec"] == "mpeg2video" and frames.index(changed[0]) >= 3
    assert frames[-1] is changed[0] or frames[-1].media_start - frames[3].media_start >= 1.0
    times = [s.media_start for s in frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert [s.kind for s in out].count("media_end") == 1 and ctx.errors == []


def test_audio_chunker_overlap_and_flush():
    import numpy as np

    ch = media.AudioChunker(1.0, 0.25)
    out = ch.push(10.0, np.ones(16000 * 2, dtype=np.int16))
    assert [round(t, 3) for t, _ in out] == [10.0, 10.75]
    rest = ch.flush()
    assert len(rest) == 1 and rest[0][0] == pytest.approx(11.5) and len(rest[0][1]) == 8000
    assert ch.flush() == []


def test_clip_buffer_memory_is_bounded(media_dir, tmp_path):
    from ingest.clipbuf import ClipBuffer

    buf = ClipBuffer(open_blobs(f"file://{tmp_path / 'b'}"), max_seconds=2.0, max_bytes=20_000)
    with av.open(str(media_dir / "clip.ts")) as c:
        v = c.streams.video[0]
        buf.new_epoch({"video": v})
        packets = [p for p in c.demux(v) if p.pts is not None]
        for loop in range(20):  # an hour-long stream in miniature: the buffer never grows past its bounds
            for p in packets:
                buf.add("video", loop * 3.0 + float(p.pts * p.time_base), p)
                assert buf.size_bytes <= 20_000
                first, last = buf.span()
                assert last - first <= 2.0
    assert len(buf._epochs) == 1
