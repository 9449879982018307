"""Decode a media file or URL with PyAV into sampled frames and 16 kHz mono audio.

Frames come at ``fps`` (the profile's technical rate), flagged ``keyframe`` every
``keyframe_interval`` seconds (OCR and fingerprints); audio comes in chunks of
``audio_chunk`` seconds, resampled to mono ``audio_rate`` (16 kHz for speech;
48 kHz when loudness is measured) with ``av.AudioResampler``. Problems are
mapped to ``MediaError`` when nothing can be read, and to a ``MediaItem`` of
kind "error" when decoding breaks off part way (a truncated file): the caller
reports it and closes what it found so far.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from core.errors import MediaError

SR = 16000


@dataclass
class MediaItem:
    kind: str  # "frame" | "audio" | "error" | "end"
    t: float
    frame: np.ndarray | None = None
    keyframe: bool = False
    pcm: np.ndarray | None = None
    reason: str = ""


@dataclass
class _Progress:
    """What ``decode`` has sampled so far (shared by its audio and video steps)."""

    next_f: float | None = None  # time of the next frame to sample (set with next_k by the first frame)
    next_k: float | None = None  # time of the next keyframe
    t_end: float = 0.0  # end of what was decoded
    a_base: float | None = None  # time of the first audio frame
    a_n: int = 0  # audio samples yielded
    items: int = 0  # items yielded


def open_media(path: str) -> Any:
    import av

    is_url = "://" in path
    if not is_url and not os.path.exists(path):
        raise MediaError(f"media file {path} does not exist", hint="check the path")
    if not is_url and os.path.getsize(path) == 0:
        raise MediaError(f"media file {path} is empty (0 bytes)", hint="the file was not written completely")
    try:
        return av.open(path, timeout=(10.0, 10.0) if is_url else None)
    except av.error.FileNotFoundError as exc:
        raise MediaError(f"media {path} not found: {exc}", hint="check the path or URL") from exc
    except av.error.InvalidDataError as exc:
        raise MediaError(f"{path} is not a readable media file (corrupted or unknown format)",
                         hint="check the file plays in a media player; re-encode it if not") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open media {path}: {exc}", hint="check the path or URL and the network") from exc


def _declared_end(container: Any, streams: list) -> float | None:
    """The end time the header promises for the streams read (None when it does not say)."""
    ends = []
    for s in streams:
        tag = (s.metadata or {}).get("DURATION")  # Matroska keeps per-stream durations as tags
        if s.duration is not None and s.time_base is not None:
            ends.append(float((s.duration + (s.start_time or 0)) * s.time_base))
        elif tag and tag.count(":") == 2:
            h, m, sec = tag.split(":")
            ends.append(int(h) * 3600 + int(m) * 60 + float(sec))
        else:
            ends = []
            break
    if ends:
        return max(ends)
    all_read = len(streams) == len(container.streams.video) + len(container.streams.audio)
    return float(container.duration) / 1e6 if container.duration and all_read else None


def decode(path: str, *, fps: float = 1.0, keyframe_interval: float = 2.0, audio_chunk: float = 1.0,
           video: bool = True, audio: bool = True, audio_rate: int = SR) -> Iterator[MediaItem]:
    import av

    container = open_media(path)
    try:
        vstreams = [s for s in container.streams.video if video][:1]
        astreams = [s for s in container.streams.audio if audio][:1]
        if not vstreams and not astreams:
            raise MediaError(f"{path} has no {'video or audio' if video and audio else 'usable'} stream",
                             hint="scan a file with a picture or a sound track")
        for s in vstreams + astreams:
            s.thread_type = "AUTO"
        resampler = av.AudioResampler(format="flt", layout="mono", rate=audio_rate) if astreams else None
        state = _Progress()
        pend: list[np.ndarray] = []
        chunk_n = max(1, int(audio_chunk * audio_rate))

        def audio_items(frames: list, flush: bool = False) -> Iterator[MediaItem]:
            for af in frames:
                pcm = af.to_ndarray().reshape(-1).astype(np.float32)
                if state.a_base is None:
                    state.a_base = float(af.time or 0.0)
                pend.append(pcm)
            buf = np.concatenate(pend) if pend else np.empty(0, np.float32)
            pend.clear()
            done = 0
            while buf.size - done >= chunk_n or (flush and buf.size - done > 0):
                piece = buf[done : done + chunk_n]
                assert state.a_base is not None  # set by the first audio frame, before any audio is pending
                t0 = state.a_base + state.a_n / audio_rate
                state.a_n += piece.size
                state.t_end = max(state.t_end, t0 + piece.size / audio_rate)
                state.items += 1
                yield MediaItem("audio", round(t0, 4), pcm=piece)
                done += piece.size
            if done < buf.size:
                pend.append(buf[done:])

        def video_items(vf: Any) -> Iterator[MediaItem]:
            if vf.time is None:
                return
            t = float(vf.time)
            rate = float(vf.time_base * (vf.duration or 0)) if vf.duration else 0.0
            state.t_end = max(state.t_end, t + rate)
            if state.next_f is None or state.next_k is None:
                state.next_f, state.next_k = t, t
            if t + 1e-6 < state.next_f:
                return
            key = t + 1e-6 >= state.next_k
            state.next_f = max(state.next_f + 1.0 / fps, t) if fps > 0 else t
            if key:
                state.next_k = max(state.next_k + keyframe_interval, t)
            state.items += 1
            yield MediaItem("frame", round(t, 4), frame=vf.to_ndarray(format="bgr24"), keyframe=key)

        try:
            for packet in container.demux(*(vstreams + astreams)):
                for fr in packet.decode():
                    if isinstance(fr, av.VideoFrame):
                        yield from video_items(fr)
                    elif resampler is not None:
                        yield from audio_items(resampler.resample(fr))
            if resampler is not None:
                yield from audio_items(resampler.resample(None), flush=True)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            yield from audio_items([], flush=True)
            yield MediaItem("error", state.t_end, reason=f"decoding stopped at {state.t_end:.2f} s: {exc}")
        declared = _declared_end(container, vstreams + astreams)
        if declared and state.items and state.t_end < declared - 1.0:
            yield MediaItem("error", state.t_end, reason=f"media ends at {state.t_end:.2f} s but declares "
                            f"{declared:.2f} s: the file is truncated or damaged")
        if state.items == 0:
            raise MediaError(f"{path} holds no decodable frames or audio (zero-length or unsupported codec)",
                             hint="check the file with ffprobe; re-encode it with a common codec")
        yield MediaItem("end", state.t_end)
    finally:
        container.close()
