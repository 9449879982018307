"""Small pieces of the media reader: 16 kHz WAV chunks, the monotonic timeline, a file slice for resuming."""

from __future__ import annotations

import io
import logging
import os
import wave
from typing import BinaryIO

import numpy as np

log = logging.getLogger("qinglang.ingest.media")

SAMPLE_RATE = 16000


def wav_bytes(pcm: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


class AudioChunker:
    """16 kHz PCM in, overlapping fixed-length chunks out; bounded by one chunk."""

    def __init__(self, chunk_s: float, overlap_s: float) -> None:
        self.n = max(1, int(round(chunk_s * SAMPLE_RATE)))
        self.hop = max(1, self.n - int(round(min(overlap_s, chunk_s * 0.9) * SAMPLE_RATE)))
        self.buf = np.zeros(0, dtype=np.int16)
        self.t0 = 0.0
        self.fresh = 0  # samples in buf not yet part of an emitted chunk

    @property
    def end(self) -> float:
        return self.t0 + len(self.buf) / SAMPLE_RATE

    def push(self, t: float, pcm: np.ndarray) -> list[tuple[float, np.ndarray]]:
        out: list[tuple[float, np.ndarray]] = []
        if len(self.buf) and abs(t - self.end) > 0.25:  # gap or jump: close what we have
            out.extend(self.flush())
        if not len(self.buf):
            self.t0 = t
        self.buf = np.concatenate([self.buf, pcm])
        self.fresh += len(pcm)
        while len(self.buf) >= self.n:
            out.append((self.t0, self.buf[: self.n].copy()))
            self.buf = self.buf[self.hop :]
            self.t0 += self.hop / SAMPLE_RATE
            self.fresh = max(0, len(self.buf) - (self.n - self.hop))
        return out

    def flush(self) -> list[tuple[float, np.ndarray]]:
        out = [(self.t0, self.buf.copy())] if self.fresh > 0 and len(self.buf) else []
        self.buf = np.zeros(0, dtype=np.int16)
        self.fresh = 0
        return out


class Timeline:
    """Monotonic stream time across reconnects and discontinuities.

    Within one connection, time going back by more than half a second is a
    discontinuity (spliced streams, encoder restart): the timeline continues
    just after what was produced. Right after reconnecting to a source that
    replays (live HLS re-serves its last segments), time going back is a
    replay: those frames are dropped, unless the jump exceeds ``discontinuity``
    seconds (restart or PTS wrap). UDP/RTSP/RTMP never replay, so there a
    reconnect continues the connection's timeline.
    """

    def __init__(self, discontinuity: float) -> None:
        self.offset = 0.0
        self.discontinuity = discontinuity
        self.hw: dict[str, float] = {}  # highest time produced per stream kind
        self.epoch_last: dict[str, float] = {}  # last time seen per kind on this connection

    def new_epoch(self, replay: bool) -> None:
        """A new connection: ``replay`` when it may re-serve what was read (HLS, HTTP files)."""
        if replay:
            self.epoch_last = {}

    def map(self, kind: str, t: float) -> float | None:
        """Adjusted time, or None when already produced (replayed after a reconnect)."""
        adj = t + self.offset
        top = max(self.hw.values(), default=None)
        prev = self.epoch_last.get(kind)
        jumped = prev is not None and adj < prev - 0.5
        restarted = prev is None and top is not None and adj < top - self.discontinuity
        if (jumped or restarted) and top is not None:
            self.offset += top + 0.04 - adj
            log.info("stream time jumped back: continuing the timeline at %.2fs", top + 0.04)
            adj = t + self.offset
        self.epoch_last[kind] = adj
        if kind in self.hw and adj <= self.hw[kind] + 1e-6:
            return None
        return adj

    def seen(self, kind: str, t: float) -> None:
        self.hw[kind] = max(self.hw.get(kind, t), t)

    @property
    def last(self) -> float:
        return max(self.hw.values(), default=0.0)


class OffsetFile(io.RawIOBase):
    """A read-only view of a file from ``offset`` on, so FFmpeg can reopen a TS file mid-way."""

    def __init__(self, path: str, offset: int) -> None:
        super().__init__()
        self._fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._offset = offset
        self._fh.seek(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            return self._fh.seek(self._offset + pos) - self._offset
        return self._fh.seek(pos, whence) - self._offset

    def tell(self) -> int:
        return self._fh.tell() - self._offset

    def close(self) -> None:
        self._fh.close()
        super().close()


def last_pat(path: str, pos: int, window: int = 188 * 4096) -> int | None:
    """Byte offset of the last MPEG-TS packet carrying a PAT start at or before ``pos`` (aligned to it)."""
    start = max(0, pos - window)
    start += (pos - start) % 188  # keep 188-byte alignment with pos
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(pos - start + 188)
    except OSError:
        return None
    for i in range(pos - start, -1, -188):
        if i + 3 <= len(data) and data[i] == 0x47 and data[i + 1] & 0x5F == 0x40 and data[i + 2] == 0:
            return start + i
    return None
