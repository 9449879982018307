"""Import a banned clip into a fingerprint list: PDQ hashes of its frames with timecodes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

from core.errors import MediaError
from detectors.fingerprint.hashing import pdq
from detectors.fingerprint.store import FingerprintStore
from detectors.media_decode import decode


def _file_id(path: str) -> str:
    h = hashlib.sha256()
    if "://" in path:
        h.update(path.encode("utf-8"))
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:24]


def import_clip(services: Any, list_name: str, path: str | Path, *, user: str = "cli",
                progress: Callable[[float], None] | None = None, fps: float = 4.0,
                threshold: int | None = None, min_run: int | None = None, min_quality: int = 50) -> dict[str, Any]:
    """Hash ``path`` at ``fps`` frames a second into list ``list_name`` (created if needed).

    ``progress(seconds_done)`` is called as the clip is read. Returns a summary
    (list, clip_id, frames, skipped, duration). Re-importing the same file replaces its hashes.
    """
    from qinglang.wiring import migrate_all

    path = str(path)
    migrate_all(services.settings.db_url)
    store = FingerprintStore(services.db)
    settings = store.ensure_list(list_name, threshold=threshold, min_run=min_run)
    clip_id = f"{list_name[:20]}-{_file_id(path)}" if "://" in path or Path(path).is_file() else None
    if clip_id is None:
        raise MediaError(f"media file {path} does not exist", hint="check the path")
    frames: list[tuple[float, bytes, int]] = []
    skipped = 0
    duration = 0.0
    problem = ""
    for item in decode(path, fps=fps, keyframe_interval=1.0 / fps, audio=False):
        if item.kind == "frame" and item.frame is not None:
            h, q = pdq(item.frame)
            if q < min_quality:
                skipped += 1
            else:
                frames.append((item.t, h, q))
            if progress:
                progress(item.t)
        elif item.kind == "error":
            problem = item.reason
        elif item.kind == "end":
            duration = item.t
    if not frames:
        raise MediaError(f"{path} has no frame with enough detail to fingerprint ({skipped} flat frames)",
                         hint="import the clip itself, not a black or blank video")
    store.add_clip(list_name, clip_id, Path(path).name, duration, frames, user)
    out = {"list": list_name, "clip_id": clip_id, "frames": len(frames), "skipped": skipped,
           "duration": round(duration, 3), "threshold": settings["threshold"], "min_run": settings["min_run"]}
    if problem:
        out["warning"] = problem
    return out
