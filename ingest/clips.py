"""Evidence clips for hits: the media around a hit, cut to the blob store without re-encoding.

``ClipCutter.cut(source_id, t0, t1)`` returns the blob ref of an MPEG-TS clip
covering ``[t0, t1]`` of a source's stream time (the ``media_start`` the
samples and hits carry):

- a local file, or a VOD over HTTP(S) (HLS with ``#EXT-X-ENDLIST`` or a plain
  media URL): opened again, seeked to the last video keyframe at or before
  ``t0``, and its packets up to ``t1`` remuxed as they are (any process can do
  this: the stream jobs need no link to the ingest worker);
- a live stream: from the rolling packet buffer of the reader in this process
  (``ingest/clipbuf.py``; readers announce their buffers with ``publish``).
  What rolled out of the buffer, or a live stream read by another process, has
  no clip (``NotFound``).

``ClipCutter.for_hit(hit)`` (also ``cutter(hit)``) is what the stream jobs call:
the window is ten seconds before to ten seconds after the hit, widened to a
fixed grid (default: ``[10k - 10, 10k + 20]`` for a hit in ``[10k, 10k + 10)``)
so every hit of a source within the same ten seconds shares one clip (cached);
it returns the ref, or None with the reason logged. It never raises. A live
hit usually arrives before its stream reached ``t + 10``: it gets the clip cut
so far at once, and a background thread cuts the full one when the buffer has
it and hands the updated hit to ``on_late`` (the index upsert: same id).

Clips are content-addressed (same packets, same bytes, same ref), so a replay
gives the same ref. Timestamps are kept (stream time), so a clip of a file
starts at the keyframe's own time.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

import av

from core.blobs import BlobStore
from core.errors import MediaError, NotFound, QinglangError
from core.events import Hit, Source

log = logging.getLogger("qinglang.ingest.clips")

MAX_CLIP_SECONDS = 120.0  # a cut never spans more than this, whatever is asked
REACHED_SLACK = 0.5  # a live buffer this close to a clip's end holds it (the last packets' durations)
_FAILED = ""  # cache marker: this window has no clip (reason already logged)

# Live clip buffers of readers in this process, by source id (see ingest/media.py).
_LIVE: dict[str, Any] = {}
_LIVE_LOCK = threading.Lock()


def publish(source_id: str, buffer: Any) -> None:
    """A reader announces its rolling buffer, so clips of its live stream can be cut here."""
    with _LIVE_LOCK:
        _LIVE[source_id] = buffer


def withdraw(source_id: str, buffer: Any) -> None:
    """A reader that stops removes its buffer (only its own: a restarted reader may have replaced it)."""
    with _LIVE_LOCK:
        if _LIVE.get(source_id) is buffer:
            del _LIVE[source_id]


def live_buffer(source_id: str) -> Any:
    with _LIVE_LOCK:
        return _LIVE.get(source_id)


# --------------------------------------------------------------------------- cutting a file or VOD
def cut_media(locator: str, t0: float, t1: float, *, options: dict[str, str] | None = None,
              timeout: float = 15.0) -> bytes:
    """MPEG-TS bytes of ``[t0, t1]`` of a seekable media file or URL, packets copied as they are."""
    if t1 <= t0:
        raise MediaError(f"empty clip span {t0:.2f}s..{t1:.2f}s", hint="the end must be after the start")
    t1 = min(t1, t0 + MAX_CLIP_SECONDS)
    try:
        src = av.open(locator, options=options or {}, timeout=(timeout, timeout))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"cannot open {locator} to cut a clip: {exc}",
                         hint="the media file must still exist where the source's locator points") from exc
    try:
        video = next((s for s in src.streams.video if s.codec_context.width), None)
        audio = next((s for s in src.streams.audio if s.codec_context.sample_rate), None)  # probed fully
        streams = [s for s in (video, audio) if s is not None]
        if not streams:
            raise MediaError(f"{locator} has neither video nor audio", hint="only audio/video sources have clips")
        packets = _collect(src, streams, video, t0, t1)
        if not packets or max(_seconds(p) or 0.0 for p in packets) < t0 - 1.0:
            raise NotFound(f"{locator} has no media between {t0:.2f}s and {t1:.2f}s",
                           hint="the hit's timecode lies beyond the end of the media")
        return _mux(streams, packets)
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot cut {t0:.2f}s..{t1:.2f}s from {locator}: {exc}",
                         hint="the media may be damaged") from exc
    finally:
        src.close()


def _seconds(packet: av.Packet, which: str = "pts") -> float | None:
    ts = getattr(packet, which)
    if ts is None or packet.time_base is None:
        return None
    return float(ts * packet.time_base)


def _collect(src: Any, streams: list[Any], video: Any, t0: float, t1: float) -> list[av.Packet]:
    """Packets from the last video keyframe at or before ``t0`` (retrying earlier seeks) up to ``t1``."""
    anchor = video if video is not None else streams[0]
    target = t0
    for _ in range(4):
        if target > 0:
            src.seek(max(0, int(target / anchor.time_base)), stream=anchor, backward=True, any_frame=False)
        else:
            src.seek(0, backward=True, any_frame=False)  # offset 0 in AV_TIME_BASE: the very start
        packets, start = _read_span(src, streams, video, t0, t1)
        if start is None or start <= t0 + 0.05 or target <= 0:
            return packets
        target = max(0.0, target - 10.0)  # the demuxer landed after t0: seek earlier
    return packets


def _read_span(src: Any, streams: list[Any], video: Any, t0: float,
               t1: float) -> tuple[list[av.Packet], float | None]:
    out: list[av.Packet] = []
    start: float | None = None
    done: set[int] = set()
    for packet in src.demux(*streams):
        if packet.size == 0 or packet.pts is None:
            continue
        t = _seconds(packet)
        when = _seconds(packet, "dts") if packet.dts is not None else t
        if t is None or when is None:
            continue
        idx = packet.stream.index
        if video is not None and idx == video.index and packet.is_keyframe and t <= t0 + 1e-3:
            out, start = [], None  # a later keyframe still at or before t0: the clip starts there
        if start is None:
            if video is not None and not (idx == video.index and packet.is_keyframe):
                continue  # before the first video keyframe: not decodable yet
            if video is None and t < t0 - 1e-6:
                continue
            start = t
        if when > t1:
            done.add(idx)
            if len(done) == len(streams):
                break
            continue
        if idx in done or (t < start - 1e-6 and (video is None or idx != video.index)):
            continue  # audio from before the clip's first picture
        out.append(packet)
    return out, start


def _mux(streams: list[Any], packets: list[av.Packet]) -> bytes:
    buf = io.BytesIO()
    out = av.open(buf, "w", format="mpegts")
    try:
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        last: dict[int, int] = {}
        for packet in packets:
            idx = packet.stream.index
            dts = packet.dts if packet.dts is not None else packet.pts
            if dts is None:
                continue  # no timestamp to order it by (_read_span keeps only packets with a pts)
            if idx in last and dts <= last[idx]:
                continue  # never hand the muxer time going backwards
            last[idx] = dts
            packet.stream = mapping[idx]
            out.mux(packet)
    finally:
        out.close()
    return buf.getvalue()


# --------------------------------------------------------------------------- the cutter
class ClipCutter:
    """Cuts evidence clips of registered sources; ``sources(id) -> Source`` looks a source up."""

    def __init__(self, blobs: BlobStore, sources: Callable[[str], Source], *, before: float = 10.0,
                 after: float = 10.0, grid: float = 10.0, max_extent: float = 30.0, cache_size: int = 512,
                 on_late: Callable[[list[dict[str, Any]]], Any] | None = None, late_grace: float = 15.0,
                 background: bool = True) -> None:
        self.blobs = blobs
        self.sources = sources
        self.before, self.after, self.grid, self.max_extent = before, after, max(grid, 0.001), max_extent
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, float, float], str] = OrderedDict()
        self._lock = threading.Lock()
        # live hits whose clip was cut before the buffer reached t1: cut again later and handed to
        # ``on_late`` (the index's upsert: same id, the document is overwritten with the longer clip)
        self.on_late, self.late_grace, self.background = on_late, late_grace, background
        self._late: list[tuple[Hit, float, float, float]] = []  # (hit, t0, t1, give up at monotonic)
        self._late_thread: threading.Thread | None = None

    # -- one span -----------------------------------------------------------------
    def cut(self, source_id: str, t0: float, t1: float) -> str:
        """Blob ref (``….ts``) of ``[t0, t1]`` of the source; NotFound / MediaError when it cannot be cut."""
        return self._cut(source_id, t0, t1)[0]

    def _cut(self, source_id: str, t0: float, t1: float) -> tuple[str, bool]:
        """(ref, complete): a live buffer that has not reached ``t1`` yet gives a shorter clip."""
        from ingest.base import local_path, locator_scheme, plugin_for
        from ingest.media import MediaPlugin

        source = self.sources(source_id)
        plugin = plugin_for(source)
        if not isinstance(plugin, MediaPlugin):
            raise NotFound(f"source {source_id} is a {source.kind} source, not a stream",
                           hint="only audio/video sources have evidence clips")
        t0 = max(0.0, t0)
        opt = dict(source.options or {})
        scheme = locator_scheme(source.locator)
        if scheme == "file":
            return self.blobs.put(cut_media(local_path(source.locator), t0, t1), "ts"), True
        if not plugin.is_live(source) and scheme in ("http", "https"):
            loc = self._vod_url(source.locator, opt)
            if loc is not None:
                ffopts = {str(k): str(v) for k, v in (opt.get("ffmpeg_options") or {}).items()}
                data = cut_media(loc, t0, t1, options=ffopts, timeout=float(opt.get("open_timeout", 15)))
                return self.blobs.put(data, "ts"), True
        buffer = live_buffer(source_id)
        if buffer is None:
            raise NotFound(f"live source {source_id} is not being read in this process",
                           hint="live clips are cut from the ingest worker's rolling buffer (embedded stack)")
        span = buffer.span()
        ref = buffer.clip(t0, min(t1, t0 + MAX_CLIP_SECONDS))
        return ref, span is not None and span[1] >= t1 - REACHED_SLACK

    @staticmethod
    def _vod_url(locator: str, opt: dict[str, Any]) -> str | None:
        from ingest import hls

        if not hls.is_hls(locator, opt):
            return locator
        playlist = hls.resolve(locator, opt, float(opt.get("open_timeout", 15)))
        return playlist.url if playlist.vod else None

    # -- one hit ------------------------------------------------------------------
    def window(self, start: float, end: float | None) -> tuple[float, float]:
        """Grid-aligned span holding ``[start - before, min(end, start + max_extent) + after]``."""
        last = min(max(end if end is not None else start, start), start + self.max_extent)
        k0, k1 = math.floor(start / self.grid), math.floor(last / self.grid)
        return max(0.0, k0 * self.grid - self.before), (k1 + 1) * self.grid + self.after

    def for_hit(self, hit: Hit | dict[str, Any]) -> str | None:
        """The clip ref for a media hit, or None (a text hit, or the reason is logged). Never raises."""
        h = hit if isinstance(hit, Hit) else Hit.model_validate(hit)
        if h.evidence.media_start is None:
            return None
        t0, t1 = self.window(float(h.evidence.media_start), h.evidence.media_end)
        key = (h.source_id, round(t0, 3), round(t1, 3))
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached or None
        complete = True
        try:
            ref, complete = self._cut(h.source_id, t0, t1)
        except QinglangError as exc:
            log.info("hit %s of %s has no clip of %.1fs..%.1fs: %s", h.id, h.source_id, t0, t1, exc.message)
            ref = _FAILED
        except Exception:  # noqa: BLE001 - a clip is a bonus: it never stops the hits
            log.warning("hit %s of %s: cutting a clip failed", h.id, h.source_id, exc_info=True)
            ref = _FAILED
        if complete:
            self._remember(key, ref)
        else:  # a live clip still growing: cut again by the next hit in its window, and later for this one
            self._defer(h, t0, t1, ref or None)
        return ref or None

    def _remember(self, key: tuple[str, float, float], ref: str) -> None:
        with self._lock:
            self._cache[key] = ref
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    # -- live clips completed later ---------------------------------------------------
    def _defer(self, hit: Hit, t0: float, t1: float, ref: str | None) -> None:
        if self.on_late is None:
            return
        buffer = live_buffer(hit.source_id)
        span = buffer.span() if buffer is not None else None
        wait = max(0.0, t1 - (span[1] if span else t1)) + self.late_grace  # live: stream time ~ wall time
        with self._lock:
            if len(self._late) >= self.cache_size:
                return  # bounded: this hit keeps its shorter clip
            copy = hit.model_copy(deep=True)
            copy.evidence.clip = ref
            self._late.append((copy, t0, t1, time.monotonic() + wait))
            start = self.background and (self._late_thread is None or not self._late_thread.is_alive())
            if start:
                self._late_thread = threading.Thread(target=self._late_loop, name="clip-late", daemon=True)
        if start and self._late_thread is not None:
            self._late_thread.start()

    def _late_loop(self) -> None:
        while self.flush_late():
            time.sleep(0.5)

    def flush_late(self, *, force: bool = False) -> int:
        """Cut again the deferred live clips whose buffer reached their end (or that waited long
        enough, or all with ``force``), hand the updated hits to ``on_late``; the number still waiting."""
        now = time.monotonic()
        with self._lock:
            pending, self._late = self._late, []
        done: list[dict[str, Any]] = []
        waiting: list[tuple[Hit, float, float, float]] = []
        for hit, t0, t1, give_up in pending:
            buffer = live_buffer(hit.source_id)
            span = buffer.span() if buffer is not None else None
            if buffer is None:
                continue  # the reader stopped: the hit keeps the clip it has
            if span is not None and span[1] < t1 - REACHED_SLACK and now < give_up and not force:
                waiting.append((hit, t0, t1, give_up))
                continue
            try:
                ref = buffer.clip(t0, min(t1, t0 + MAX_CLIP_SECONDS))
            except QinglangError as exc:
                log.info("hit %s of %s: no longer clip of %.1fs..%.1fs: %s", hit.id, hit.source_id, t0, t1,
                         exc.message)
                continue
            self._remember((hit.source_id, round(t0, 3), round(t1, 3)), ref)
            if ref != hit.evidence.clip:
                hit.evidence.clip = ref
                done.append(hit.to_json())
        if done and self.on_late is not None:
            try:
                self.on_late(done)
            except Exception:  # noqa: BLE001 - the hits keep their shorter clips
                log.warning("could not store %d longer live clips", len(done), exc_info=True)
        with self._lock:
            self._late.extend(waiting)
            return len(self._late)

    __call__ = for_hit


def from_services(services: Any) -> ClipCutter:
    """A cutter over the services' blob store and source registry."""
    from ingest.registry import SourceRegistry

    registry = SourceRegistry(services.db)
    return ClipCutter(services.blobs, registry.source, on_late=services.index.upsert)
