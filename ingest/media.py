"""Media sources read with PyAV: local files, HLS (live/VOD), MPEG-TS over UDP, RTMP/RTSP/HTTP-FLV.

Samples (the contract the stream jobs consume):

- ``video_frame``: JPEG (quality 90) in the blob store, ``media_start`` = pts in
  seconds (stream time), metadata ``width``, ``height``, ``keyframe`` (true once
  per ``keyframe_interval``: OCR / fingerprints), ``channel``/``program`` when
  known, ``resolution_changed`` on the first frame of a new size,
  ``codec_changed`` and ``codec`` on the first frame after a codec change (a
  local MPEG-TS file is reopened at the last PAT before the change; a live
  stream reconnects). Frames at
  ``frames_per_second`` on a fixed grid of stream time.
- ``audio_chunk``: WAV 16 kHz mono PCM16, chunks of ``audio_chunk_seconds``
  overlapping by ``audio_overlap_seconds``, metadata ``sample_rate``.
- ``media_end``: once when a file or VOD ends (``media_start`` = last time);
  for a live source when the signal is lost or stalls, with metadata
  ``{"signal": "lost", "reason": ...}``. The first sample after recovery carries
  ``{"signal": "restored"}``. The worker adds ``{"signal": "silent"}`` ones.

Live sources reconnect with exponential backoff and jitter. Stream time is kept
monotonic across reconnects: frames and audio at or before what was already
produced are dropped (no duplicates when a live HLS playlist replays its last
segments); a backward jump of more than ``discontinuity_seconds`` (encoder
restart, PTS wrap) shifts the timeline instead. Source options:
``live``, ``variant`` (HLS), ``stall_seconds`` (10), ``open_timeout`` (15),
``reconnect_base`` (0.5), ``reconnect_max`` (30), ``buffer_seconds`` (30),
``ffmpeg_options`` (dict), ``channel``, ``program``.
"""

from __future__ import annotations

import logging
import math
import random
from typing import Any, Iterator

import av
import cv2
import numpy as np

from core.errors import MediaError
from core.events import Sample, SampleKind, Source, SourceKind, make_id, utcnow
from ingest import clips, hls
from ingest.base import IngestContext, SourcePlugin, local_path, locator_scheme, register
from ingest.clipbuf import ClipBuffer
from ingest.mediautil import SAMPLE_RATE, AudioChunker, OffsetFile, Timeline, last_pat, wav_bytes

log = logging.getLogger("qinglang.ingest.media")

LIVE_SCHEMES = {"udp", "rtp", "rtmp", "rtmps", "rtsp", "rtsps", "srt", "tcp"}
NOT_MEDIA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".html", ".htm", ".csv", ".txt")


class StreamReader:
    """Reads one source until it ends (file/VOD) or ``ctx`` stops (live)."""

    def __init__(self, source: Source, ctx: IngestContext, live: bool) -> None:
        self.source = source
        self.ctx = ctx
        self.live = live
        self.opt: dict[str, Any] = dict(source.options or {})
        p = source.profile
        self.fps = max(0.0, p.frames_per_second)
        self.key_every = max(0.0, p.keyframe_interval)
        self.timeline = Timeline(float(self.opt.get("discontinuity_seconds", 60.0)))
        self.chunker = AudioChunker(p.audio_chunk_seconds, p.audio_overlap_seconds)
        self.next_frame: float | None = None  # next frame time on the fps grid
        self.next_key: float | None = None  # next keyframe time
        self.size: tuple[int, int] | None = None
        self.lost = False
        self.resampler: tuple[tuple, av.AudioResampler] | None = None
        self.buffer = ClipBuffer(ctx.blobs, float(self.opt.get("buffer_seconds", 30.0)))
        ctx.extras.setdefault("clip_buffers", {})[source.id] = self.buffer
        clips.publish(source.id, self.buffer)  # evidence clips of this live stream (ingest/clips.py)
        self.meta = {k: self.opt[k] for k in ("channel", "program") if self.opt.get(k)}
        self.replays = locator_scheme(source.locator) in ("http", "https")
        self.resume_at: int | None = None  # set while reading: reopen a local TS file at this offset
        self.open_at: int | None = None  # the offset the current container was opened at
        self._last_resume = -1
        self._slice: OffsetFile | None = None
        self.resumed = 0
        self.codec: str | None = None  # video codec of the current container
        self.last_codec: str | None = None  # codec of the last frame produced

    # -- connection ------------------------------------------------------------------
    def _open(self) -> tuple[Any, bool]:
        """(container, vod) or MediaError."""
        loc: Any = self.source.locator
        vod = not self.live
        scheme = locator_scheme(loc)
        if scheme in ("http", "https") and hls.is_hls(loc, self.opt):
            pl = hls.resolve(loc, self.opt, float(self.opt.get("open_timeout", 15)))
            loc, vod = pl.url, pl.vod
        elif scheme == "file":
            loc = local_path(loc)
            if self.open_at:
                loc = self._slice = OffsetFile(loc, self.open_at)
        options = {"analyzeduration": "2000000", "probesize": "1000000"}
        if scheme in ("rtsp", "rtsps"):
            options["rtsp_transport"] = "tcp"
        options.update({str(k): str(v) for k, v in (self.opt.get("ffmpeg_options") or {}).items()})
        timeout = (float(self.opt.get("open_timeout", 15)), float(self.opt.get("stall_seconds", 10)))
        try:
            if isinstance(loc, OffsetFile):
                return av.open(loc, format="mpegts", options=options), vod
            return av.open(loc, options=options, timeout=timeout), vod
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            if self._slice is not None:
                self._slice.close()
                self._slice = None
            raise MediaError(
                f"cannot open media {self.source.locator}: {exc}",
                hint="check the path or URL and that FFmpeg supports its format",
            ) from exc

    def run(self) -> Iterator[Sample]:
        attempt = 0
        reason = "ended"
        try:
            while not self.ctx.should_stop():
                try:
                    container, vod = self._open()
                except MediaError as exc:
                    if not self.live:
                        raise
                    reason = exc.message
                    self.ctx.report_error(self.source, reason)
                    yield from self._signal_lost(reason)
                    attempt += 1
                    if self.ctx.sleep(self._backoff(attempt)):
                        break
                    continue
                got = 0
                try:
                    for sample in self._read(container):
                        got += 1
                        attempt = 0
                        yield sample
                    reason = "stream ended"
                except (av.error.FFmpegError, OSError, MediaError) as exc:
                    reason = f"read failed: {exc}"
                    if self.resume_at is not None:
                        log.info("source %s: codec changed near byte %d; reopening", self.source.id, self.resume_at)
                    elif not self.live:
                        self.ctx.report_error(self.source, reason)
                finally:
                    container.close()
                    if self._slice is not None:
                        self._slice.close()
                        self._slice = None
                if not self.live and self.resume_at is not None and self.resumed < 20:
                    self.open_at, self.resume_at = self.resume_at, None
                    self.resumed += 1
                    continue  # a local TS file whose codec changed: read on from there
                self.resume_at = None
                if vod or not self.live:
                    break
                if self.ctx.should_stop():
                    break
                self.ctx.report_error(self.source, f"signal lost: {reason}")
                yield from self._signal_lost(reason)
                attempt += 1 if not got else 0
                if self.ctx.sleep(self._backoff(max(attempt, 1))):
                    break
            yield from self._audio(self.chunker.flush())
            if not self.lost and self.timeline.hw:
                t = self.timeline.last
                yield self._sample(SampleKind.MEDIA_END, t, t, ident=("end", t), metadata={})
        finally:
            self.buffer.close()
            self.ctx.extras.get("clip_buffers", {}).pop(self.source.id, None)
            clips.withdraw(self.source.id, self.buffer)

    def _backoff(self, attempt: int) -> float:
        base = float(self.opt.get("reconnect_base", 0.5))
        cap = float(self.opt.get("reconnect_max", 30.0))
        delay = min(cap, base * 2 ** min(attempt - 1, 16))
        return delay * random.uniform(0.5, 1.0)

    def _signal_lost(self, reason: str) -> Iterator[Sample]:
        if self.lost:
            return
        yield from self._audio(self.chunker.flush())
        self.lost = True
        t = self.timeline.last
        yield self._sample(
            SampleKind.MEDIA_END, t, t, ident=("lost", t), metadata={"signal": "lost", "reason": reason[:300]}
        )

    # -- decoding --------------------------------------------------------------------
    def _read(self, container: Any) -> Iterator[Sample]:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError(f"{self.source.locator} has neither video nor audio", hint="check the source")
        streams = [s for s in (video, audio) if s is not None]
        self.codec = video.codec_context.name if video is not None else None
        self.buffer.new_epoch({s.type: s for s in streams})
        self.timeline.new_epoch(replay=self.replays and not self.open_at)
        bad = 0
        for packet in container.demux(*streams):
            if self.ctx.should_stop():
                return
            kind = packet.stream.type
            if packet.pts is not None and packet.time_base is not None:
                t = self.timeline.offset + float(packet.pts * packet.time_base)
                self.buffer.add(kind, t, packet)
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as exc:
                bad += 1
                if bad > 50:
                    raise MediaError(f"too many undecodable packets: {exc}", hint="the stream is corrupt") from exc
                continue
            except av.error.FFmpegError as exc:  # codec changed under the decoder: reopen from here
                self._mark_resume(container, packet)
                raise MediaError(f"decoder failed ({exc}); the codec may have changed", hint="reopening") from exc
            bad = 0
            for frame in frames:
                if kind == "video":
                    yield from self._video(frame)
                else:
                    yield from self._audio_frame(frame)

    def _mark_resume(self, container: Any, packet: av.Packet) -> None:
        """Remember where a local MPEG-TS file must be reopened: at the last PAT before the packet
        the decoder refused, so a fresh probe reads the new programme table and codec."""
        if self.live or container.format.name != "mpegts" or packet.pos is None or packet.pos < 0:
            return
        at = last_pat(local_path(self.source.locator), (self.open_at or 0) + packet.pos)
        self.resume_at = at if at is not None and at > self._last_resume else None
        if self.resume_at is not None:
            self._last_resume = self.resume_at

    def _video(self, frame: av.VideoFrame) -> Iterator[Sample]:
        if frame.time is None:
            return
        t = self.timeline.map("video", float(frame.time))
        if t is None:
            return
        take_grid = self.fps > 0 and self._due("next_frame", t, 1.0 / self.fps if self.fps else 0.0)
        take_key = self.key_every > 0 and self._due("next_key", t, self.key_every)
        self.timeline.seen("video", t)
        if not (take_grid or take_key):
            return
        img = frame.to_ndarray(format="bgr24")
        ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            self.ctx.report_error(self.source, f"JPEG encoding failed at {t:.3f}s")
            return
        meta: dict[str, Any] = {"width": frame.width, "height": frame.height, "keyframe": take_key}
        if self.size is not None and self.size != (frame.width, frame.height):
            meta["resolution_changed"] = True
        if self.last_codec is not None and self.last_codec != self.codec:
            meta.update(codec_changed=True, codec=self.codec)
        self.size, self.last_codec = (frame.width, frame.height), self.codec
        yield self._sample(SampleKind.VIDEO_FRAME, t, None, ident=(round(t, 3),), blob=self.ctx.blobs.put(
            jpg.tobytes(), "jpg"), metadata=meta)

    def _due(self, attr: str, t: float, step: float) -> bool:
        """Grid of ``step`` seconds anchored at the first frame: True once per step."""
        nxt = getattr(self, attr)
        if nxt is None:
            nxt = t
        if t < nxt - 1e-3:
            return False
        setattr(self, attr, nxt + (math.floor((t - nxt) / step + 1e-3) + 1) * step)
        return True

    def _audio_frame(self, frame: av.AudioFrame) -> Iterator[Sample]:
        if frame.time is None:
            return
        mapped = self.timeline.map("audio", float(frame.time))
        top = self.timeline.hw.get("audio_end")
        duration = frame.samples / float(frame.sample_rate or SAMPLE_RATE)
        if mapped is None or (top is not None and mapped + duration <= top + 1e-6):
            return
        t = mapped
        sig = (frame.format.name, frame.layout.name, frame.sample_rate)
        if self.resampler is None or self.resampler[0] != sig:
            self.resampler = (sig, av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE))
        pcm = [f.to_ndarray().reshape(-1) for f in self.resampler[1].resample(frame)]
        if not pcm:
            return
        data = np.concatenate(pcm).astype(np.int16)
        if top is not None and t < top:  # partial overlap with audio already produced: trim it
            cut = int(round((top - t) * SAMPLE_RATE))
            data, t = data[cut:], top
        self.timeline.seen("audio", t)
        self.timeline.hw["audio_end"] = t + len(data) / SAMPLE_RATE
        yield from self._audio(self.chunker.push(t, data))

    def _audio(self, chunks: list[tuple[float, np.ndarray]]) -> Iterator[Sample]:
        for t0, pcm in chunks:
            if len(pcm) < SAMPLE_RATE // 20:  # under 50 ms: nothing to listen to
                continue
            t1 = t0 + len(pcm) / SAMPLE_RATE
            blob = self.ctx.blobs.put(wav_bytes(pcm), "wav")
            yield self._sample(SampleKind.AUDIO_CHUNK, t0, t1, ident=(round(t0, 3),), blob=blob,
                               metadata={"sample_rate": SAMPLE_RATE})

    def _sample(self, kind: SampleKind, t0: float, t1: float | None, ident: tuple, metadata: dict,
                blob: str | None = None) -> Sample:
        meta = {**self.meta, **metadata}
        if kind != SampleKind.MEDIA_END and self.lost:
            self.lost = False
            meta["signal"] = "restored"
        return Sample(
            id=make_id("smp", self.source.id, kind.value, *ident),
            source_id=self.source.id,
            kind=kind,
            captured_at=utcnow(),
            media_start=round(t0, 3),
            media_end=round(t1, 3) if t1 is not None else None,
            blob=blob,
            metadata=meta,
        )


class MediaPlugin(SourcePlugin):
    name = "media"
    kinds = (SourceKind.IPTV, SourceKind.OTT, SourceKind.FILE)

    def accepts(self, source: Source) -> bool:
        if locator_scheme(source.locator) == "file":
            return not local_path(source.locator).lower().endswith(NOT_MEDIA_SUFFIXES)
        return True

    def is_live(self, source: Source) -> bool:
        if "live" in (source.options or {}):
            return bool(source.options["live"])
        scheme = locator_scheme(source.locator)
        if scheme in LIVE_SCHEMES:
            return True
        return scheme in ("http", "https") and source.kind in (SourceKind.IPTV, SourceKind.OTT)

    def samples(self, source: Source, ctx: IngestContext) -> Iterator[Sample]:
        if locator_scheme(source.locator) == "file":
            import os

            path = local_path(source.locator)
            if not os.path.isfile(path):
                raise MediaError(f"media file {path} does not exist", hint="check the source's locator")
        yield from StreamReader(source, ctx, self.is_live(source)).run()


def clip(ctx: IngestContext, source_id: str, t0: float, t1: float) -> str:
    """Evidence clip [t0, t1] of a source being read in this process (blob ref)."""
    from core.errors import NotFound

    buf = ctx.extras.get("clip_buffers", {}).get(source_id)
    if buf is None:
        raise NotFound(f"source {source_id} is not being read here", hint="clips come from live sources")
    return buf.clip(t0, t1)


register(MediaPlugin())
