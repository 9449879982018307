"""PDQ hashes of frames (256 bits as 32 bytes), after trimming letterbox borders."""

from __future__ import annotations

import cv2
import numpy as np

from core.errors import MissingExtra

HASH_BYTES = 32


def trim_borders(frame_bgr: np.ndarray, level: int = 24) -> np.ndarray:
    """Drop uniform dark bars (letterbox/pillarbox) so a boxed copy hashes like the original."""
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    rows = np.flatnonzero(gray.max(axis=1) > level)
    cols = np.flatnonzero(gray.max(axis=0) > level)
    if rows.size < gray.shape[0] * 0.3 or cols.size < gray.shape[1] * 0.3:
        return frame_bgr
    return frame_bgr[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def pdq(frame_bgr: np.ndarray) -> tuple[bytes, int]:
    """(32-byte PDQ hash, quality 0-100) of a BGR frame."""
    try:
        import pdqhash
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingExtra("clip fingerprints", "all") from exc
    img = trim_borders(frame_bgr)
    h, w = img.shape[:2]
    if max(h, w) > 512:
        s = 512 / max(h, w)
        img = cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    bits, quality = pdqhash.compute(rgb)
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes(), int(quality)


def hamming(a: bytes, b: bytes) -> int:
    return int.from_bytes(a, "big").__xor__(int.from_bytes(b, "big")).bit_count()
