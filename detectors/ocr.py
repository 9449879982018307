"""On-screen text with RapidOCR (PP-OCRv4 on ONNX Runtime) on keyframes.

Optional subtitle band (a horizontal slice of the frame) with the detector's
size limit set to "max" so a crop is never enlarged; a keyframe whose band
looks like the last one read (few changed pixels on a 320-px grey copy) is
not read again, and when only a strip of it changed only that strip is read
(lines elsewhere are kept); consecutive keyframes with the same text become one finding
with start (first keyframe showing it) and end (first keyframe without it),
boxes kept in frame pixel coordinates.
"""

from __future__ import annotations

import base64
import difflib
import re
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from core.errors import MissingExtra
from detectors.base import VIDEO_FRAME, Detector, Example, Finding
from detectors.qos._base import make_options

_ENGINES: dict[tuple, Any] = {}
_LOCK = threading.Lock()
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass
class OcrOptions:
    band: tuple[float, float] | None = None  # (top, bottom) fractions of the height, e.g. (0.7, 1.0)
    limit_side_len: int = 960  # longest side given to the text detector (never enlarged)
    use_cls: bool = False  # text-direction classifier; broadcast text is upright
    min_score: float = 0.5
    change_fraction: float = 0.001  # share of band pixels (320-px grey copy) that must change
    same_text_ratio: float = 0.8  # similarity at which two reads are the same text
    max_run: float = 300.0  # a text shown longer is reported and continued as a new run


def load_engine(limit_side_len: int, use_cls: bool) -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise MissingExtra("on-screen text", "ocr") from exc
    key = (limit_side_len, use_cls)
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = RapidOCR(det_limit_type="max", det_limit_side_len=limit_side_len,
                                     use_cls=use_cls, print_verbose=False)
        return _ENGINES[key]


def norm_text(text: str) -> str:
    return _PUNCT.sub("", text)


class OcrDetector(Detector):
    name: ClassVar[str] = "ocr"
    kinds: ClassVar[tuple[str, ...]] = (VIDEO_FRAME,)
    description: ClassVar[str] = "on-screen text (captions, banners) read from keyframes"

    def __init__(self, options: OcrOptions | dict | None = None) -> None:
        self.options: OcrOptions = make_options(OcrOptions, options)
        if isinstance(self.options.band, list):
            self.options.band = tuple(self.options.band)  # type: ignore[assignment]
        self.engine = load_engine(self.options.limit_side_len, self.options.use_cls)
        self.last_band: np.ndarray | None = None
        self.lines: list[tuple[list[list[float]], str, float]] = []  # lines on screen at the last read
        self.run: dict[str, Any] | None = None  # text, start, last, boxes, score
        self.reads = 0
        self.skipped = 0

    # -- reading -----------------------------------------------------------------
    def _band_rows(self, frame_bgr: np.ndarray) -> tuple[int, int]:
        h = frame_bgr.shape[0]
        if not self.options.band:
            return 0, h
        top = int(h * self.options.band[0])
        return top, max(int(h * self.options.band[1]), top + 1)

    def read(self, frame_bgr: np.ndarray, rows: tuple[int, int] | None = None) -> list[tuple[list[list[float]], str, float]]:
        """Lines (box in frame pixels, text, score) of one frame (band, or the given rows, applied)."""
        top, bottom = rows or self._band_rows(frame_bgr)
        img = frame_bgr[top:bottom]
        result, _ = self.engine(np.ascontiguousarray(img), use_cls=self.options.use_cls)
        self.reads += 1
        lines = []
        for box, text, score in result or []:
            if float(score) < self.options.min_score or not text.strip():
                continue
            pts = [[float(x), float(y) + top] for x, y in box]
            lines.append((pts, text.strip(), float(score)))
        return lines

    def _band_small(self, frame_bgr: np.ndarray) -> np.ndarray:
        img = frame_bgr
        if self.options.band:
            h = frame_bgr.shape[0]
            img = frame_bgr[int(h * self.options.band[0]) : max(int(h * self.options.band[1]), 1)]
        h, w = img.shape[:2]
        small = cv2.resize(img, (320, max(1, round(h * 320 / max(w, 1)))), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)

    def _same(self, a: str, b: str) -> bool:
        na, nb = norm_text(a), norm_text(b)
        if na == nb:
            return True
        return difflib.SequenceMatcher(None, na, nb).ratio() >= self.options.same_text_ratio

    def _close(self, end: float) -> list[Finding]:
        run, self.run = self.run, None
        if not run:
            return []
        boxes = run["boxes"]
        xs = [p[0] for b in boxes for p in b] or [0.0]
        ys = [p[1] for b in boxes for p in b] or [0.0]
        hull = [[min(xs), min(ys)], [max(xs), min(ys)], [max(xs), max(ys)], [min(xs), max(ys)]]
        return [Finding(detector=self.name, start=round(run["start"], 3), end=round(end, 3), text=run["text"],
                        category="text", severity="info", confidence=round(run["score"], 3), box=hull,
                        values={"boxes": boxes, "lines": run["lines"]})]

    def feed_frame(self, frame_bgr: np.ndarray, t: float) -> list[Finding]:
        """One keyframe; returns the texts that ended (disappeared or changed) at ``t``."""
        small = self._band_small(frame_bgr)
        if (self.last_band is not None and self.last_band.shape == small.shape
                and np.count_nonzero(cv2.absdiff(small, self.last_band) > 20)
                < self.options.change_fraction * small.size):
            self.skipped += 1
            out: list[Finding] = []
            if self.run and t - self.run["start"] >= self.options.max_run:
                out = self._close(t)
            return out
        lines = self._read_changed(frame_bgr, small)
        self.last_band = small
        self.lines = lines
        text = "\n".join(line[1] for line in lines)
        out = []
        if self.run and (not text or not self._same(self.run["text"], text)
                         or t - self.run["start"] >= self.options.max_run):
            out += self._close(t)
        if text and self.run is None:
            self.run = {"text": text, "start": t, "boxes": [line[0] for line in lines],
                        "lines": [line[1] for line in lines],
                        "score": float(np.mean([line[2] for line in lines]))}
        return out

    def _read_changed(self, frame_bgr: np.ndarray, small: np.ndarray) -> list[tuple[list[list[float]], str, float]]:
        """Read only the rows that changed when they are a small part of the band; keep the other lines."""
        top, bottom = self._band_rows(frame_bgr)
        if self.last_band is None or self.last_band.shape != small.shape:
            return self.read(frame_bgr)
        changed = np.flatnonzero((cv2.absdiff(small, self.last_band) > 20).any(axis=1))
        scale = (bottom - top) / small.shape[0]
        margin = 0.04 * frame_bgr.shape[0]
        y0 = max(top, int(top + changed[0] * scale - margin))
        y1 = min(bottom, int(top + (changed[-1] + 1) * scale + margin))
        if y1 - y0 > 0.5 * (bottom - top):
            return self.read(frame_bgr)
        kept = [ln for ln in self.lines if max(p[1] for p in ln[0]) < y0 or min(p[1] for p in ln[0]) > y1]
        fresh = self.read(frame_bgr, (y0, y1))
        return sorted(kept + fresh, key=lambda ln: (min(p[1] for p in ln[0]), min(p[0] for p in ln[0])))

    def finish(self, t_end: float) -> list[Finding]:
        return self._close(t_end)

    # -- state ---------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        band = None
        if self.last_band is not None:
            band = {"data": base64.b64encode(self.last_band.tobytes()).decode("ascii"),
                    "shape": list(self.last_band.shape)}
        return {"run": self.run, "band": band, "lines": [list(ln) for ln in self.lines]}

    def set_state(self, state: dict[str, Any]) -> None:
        self.run = state.get("run")
        self.lines = [(ln[0], ln[1], float(ln[2])) for ln in state.get("lines", [])]
        band = state.get("band")
        self.last_band = None
        if band:
            raw = base64.b64decode(band["data"])
            self.last_band = np.frombuffer(raw, dtype=np.uint8).reshape(band["shape"]).copy()

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        det = cls(example.options or None)
        out: list[Finding] = []
        t = 0.0
        for t, frame in example.input:
            out += det.feed_frame(frame, t)
        return out + det.finish(t)
