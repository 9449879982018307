"""Banned-clip matching: a run of keyframes whose PDQ hashes hit the same listed clip.

Each keyframe is hashed and looked up in the fingerprint index (each list's
Hamming threshold); a hit on clip C extends C's run. A run closes after
``max_misses`` keyframes in a row without C and is reported when it counted at
least the list's minimum run of matching keyframes. Flat frames (PDQ quality
below ``min_quality``: black, one colour) are not matched: they all look alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from detectors.base import VIDEO_FRAME, Detector, Example, Finding
from detectors.fingerprint.hashing import pdq
from detectors.fingerprint.store import FingerprintIndex
from detectors.qos._base import make_options


@dataclass
class FingerprintOptions:
    max_misses: int = 1  # keyframes without a hit tolerated inside a run
    min_quality: int = 50  # PDQ quality under which a frame is not matched


class FingerprintDetector(Detector):
    name: ClassVar[str] = "fingerprint"
    kinds: ClassVar[tuple[str, ...]] = (VIDEO_FRAME,)
    description: ClassVar[str] = "replay of a banned clip (PDQ keyframe hashes)"

    def __init__(self, index: FingerprintIndex, options: Any = None) -> None:
        self.index = index
        self.options = make_options(FingerprintOptions, options)
        self.runs: dict[str, dict[str, Any]] = {}

    def _close(self, key: str, run: dict[str, Any]) -> list[Finding]:
        lst, clip = key.split("\x1f", 1)
        if run["count"] < self.index.min_run(lst):
            return []
        end = run["miss_t"] if run["miss_t"] is not None else run["last"]
        return [Finding(detector=self.name, start=round(run["start"], 3), end=round(end, 3),
                        value=float(run["best"]), category="banned-clip", severity="high",
                        confidence=round(1.0 - run["best"] / 256.0, 3),
                        values={"list": lst, "clip_id": clip, "frames": run["count"],
                                "clip_start": run["clip_start"], "clip_end": run["clip_end"],
                                "distance": run["best"]})]

    def feed_hash(self, hash32: bytes, t: float, quality: int = 100) -> list[Finding]:
        best: dict[str, tuple[float, int]] = {}
        if quality >= self.options.min_quality:
            for lst, clip, ct, d in self.index.search(hash32):
                key = f"{lst}\x1f{clip}"
                if key not in best or d < best[key][1]:
                    best[key] = (ct, d)
        out: list[Finding] = []
        for key, (ct, d) in best.items():
            run = self.runs.get(key)
            if run is None:
                self.runs[key] = {"start": t, "last": t, "count": 1, "misses": 0, "miss_t": None, "best": d,
                                  "clip_start": ct, "clip_end": ct}
            else:
                run.update(last=t, misses=0, miss_t=None, best=min(run["best"], d),
                           clip_start=min(run["clip_start"], ct), clip_end=max(run["clip_end"], ct))
                run["count"] += 1
        for key in [k for k in self.runs if k not in best]:
            run = self.runs[key]
            run["misses"] += 1
            if run["miss_t"] is None:
                run["miss_t"] = t
            if run["misses"] > self.options.max_misses:
                out += self._close(key, self.runs.pop(key))
        return out

    def feed_frame(self, frame_bgr: np.ndarray, t: float) -> list[Finding]:
        h, q = pdq(frame_bgr)
        return self.feed_hash(h, t, q)

    def finish(self, t_end: float) -> list[Finding]:
        out: list[Finding] = []
        for key in list(self.runs):
            run = self.runs.pop(key)
            if run["miss_t"] is None:
                run["miss_t"] = t_end
            out += self._close(key, run)
        return out

    def get_state(self) -> dict[str, Any]:
        return {"runs": self.runs}

    def set_state(self, state: dict[str, Any]) -> None:
        self.runs = {k: dict(v) for k, v in state.get("runs", {}).items()}

    @classmethod
    def examples(cls) -> list[Example]:
        h = bytes(range(32))
        near = bytes([h[0] ^ 0x0F]) + h[1:]  # 4 bits apart
        far = bytes(255 - b for b in h)
        return [Example("replayed", {"clip": [h], "stream": [(0, far), (2, near), (4, near), (6, near), (8, far),
                                                           (10, far)]},
                        [{"detector": "fingerprint", "start": 2.0, "end": 8.0, "list": "banned"}])]

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        index = FingerprintIndex({"banned": {"threshold": 31, "min_run": 3}})
        index.add([("banned", "clip-1", float(i), h) for i, h in enumerate(example.input["clip"])])
        det = cls(index, example.options or None)
        out: list[Finding] = []
        t = 0.0
        for t, h in example.input["stream"]:
            out += det.feed_hash(h, float(t))
        return out + det.finish(float(t))
