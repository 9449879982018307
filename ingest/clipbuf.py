"""A bounded rolling buffer of recent packets per stream, and evidence clips cut from it.

The reader adds every demuxed packet with its media time (the same stream time
the samples carry). ``clip(t0, t1)`` remuxes the packets from the last video
keyframe at or before ``t0`` up to ``t1`` into an MPEG-TS in the blob store,
without re-encoding, and returns the blob ref.

Bounded memory: packets older than ``max_seconds`` behind the newest, and the
oldest packets beyond ``max_bytes``, are dropped, whatever the stream does.

Codec parameters are copied at connect time into a never-written in-memory
output container (a "template holder"), so a clip can be cut after the input
container has been closed or reconnected. Packets of one connection ("epoch")
share one holder; a clip uses the epoch that holds ``t0`` (or the first one
inside the range).
"""

from __future__ import annotations

import io
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

from core.blobs import BlobStore
from core.errors import NotFound


@dataclass(frozen=True)
class _Packet:
    epoch: int
    kind: str  # "video" | "audio"
    t: float  # media time (seconds, stream time incl. discontinuity offset)
    data: bytes
    pts_delta: int  # dts - pts in the stream time base
    time_base: Fraction
    keyframe: bool


class _Epoch:
    def __init__(self, streams: dict[str, Any]) -> None:
        self.holder = av.open(io.BytesIO(), "w", format="mpegts")
        self.templates = {kind: self.holder.add_stream_from_template(s) for kind, s in streams.items()}


class ClipBuffer:
    def __init__(self, blobs: BlobStore, max_seconds: float = 30.0, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.blobs = blobs
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self._packets: deque[_Packet] = deque()
        self._bytes = 0
        self._epochs: dict[int, _Epoch] = {}
        self._epoch = -1
        self._lock = threading.Lock()

    # -- writer side (the reader thread) -------------------------------------------
    def new_epoch(self, streams: dict[str, Any]) -> None:
        """Call after (re)connecting with the streams that will be added ({'video': s, ...})."""
        with self._lock:
            self._epoch += 1
            self._epochs[self._epoch] = _Epoch(streams)

    def add(self, kind: str, t: float, packet: av.Packet) -> None:
        if packet.pts is None or packet.time_base is None:
            return
        data = bytes(packet)
        dts = packet.dts if packet.dts is not None else packet.pts
        item = _Packet(self._epoch, kind, t, data, dts - packet.pts, packet.time_base, bool(packet.is_keyframe))
        with self._lock:
            self._packets.append(item)
            self._bytes += len(data)
            newest = t
            while self._packets and (
                self._bytes > self.max_bytes or newest - self._packets[0].t > self.max_seconds
            ):
                old = self._packets.popleft()
                self._bytes -= len(old.data)
            live = {p.epoch for p in self._packets} | {self._epoch}
            for e in [e for e in self._epochs if e not in live]:
                del self._epochs[e]

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def span(self) -> tuple[float, float] | None:
        with self._lock:
            if not self._packets:
                return None
            return self._packets[0].t, self._packets[-1].t

    # -- reader side (anyone) ------------------------------------------------------
    def clip(self, t0: float, t1: float) -> str:
        """Blob ref of an MPEG-TS clip covering [t0, t1] (as much as the buffer holds)."""
        with self._lock:
            packets = list(self._packets)
            epochs = dict(self._epochs)
        inside = [p for p in packets if p.t <= t1]
        if not inside or inside[-1].t < t0:
            raise NotFound(
                f"no buffered media between {t0:.2f}s and {t1:.2f}s",
                hint="clips can only be cut from the last seconds a live stream buffered",
            )
        at_t0 = [p for p in inside if p.t <= t0]
        epoch = at_t0[-1].epoch if at_t0 else next(p.epoch for p in inside if p.t >= t0)
        chosen = [p for p in inside if p.epoch == epoch]
        has_video = any(p.kind == "video" for p in chosen)
        start = t0
        if has_video:  # start at the last video keyframe at or before t0 so the clip decodes
            keys = [p.t for p in chosen if p.kind == "video" and p.keyframe and p.t <= t0]
            if keys:
                start = keys[-1]
            else:
                first = next((p.t for p in chosen if p.kind == "video" and p.keyframe), None)
                start = first if first is not None else t0
        chosen = [p for p in chosen if p.t >= start - 1e-6]
        return self.blobs.put(self._mux(chosen, epochs[epoch]), "ts")

    @staticmethod
    def _mux(packets: list[_Packet], epoch: _Epoch) -> bytes:
        out_buf = io.BytesIO()
        out = av.open(out_buf, "w", format="mpegts")
        try:
            streams = {k: out.add_stream_from_template(t) for k, t in epoch.templates.items()}
            last_dts: dict[str, int] = {}
            for p in packets:
                stream = streams.get(p.kind)
                if stream is None:
                    continue
                pkt = av.Packet(p.data)
                pts = round(p.t / p.time_base)  # media time, so discontinuities stay monotonic
                dts = pts + p.pts_delta
                if p.kind in last_dts and dts <= last_dts[p.kind]:
                    continue
                last_dts[p.kind] = dts
                pkt.pts, pkt.dts, pkt.time_base = pts, dts, p.time_base
                pkt.is_keyframe = p.keyframe
                pkt.stream = stream
                out.mux(pkt)
        finally:
            out.close()
        return out_buf.getvalue()

    def close(self) -> None:
        with self._lock:
            self._packets.clear()
            self._bytes = 0
            self._epochs.clear()  # holders were never written: dropping them frees them
