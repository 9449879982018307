"""Multi-index hashing over 256-bit hashes: 16 chunks of 16 bits.

Two hashes within Hamming distance r share at least one chunk within distance
floor(r / 16) (pigeonhole), so a query probes, per chunk, every value within
that radius (1 + 16 values for r <= 31) in a bucket table (CSR arrays: bucket
offsets plus row ids), then checks the candidates' full distance with a
vectorised popcount. Lookups cost hundreds of bucket reads, not N comparisons.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

CHUNKS = 16


def to_words(hashes: list[bytes] | np.ndarray) -> np.ndarray:
    """(N, 4) uint64 from 32-byte hashes (or an (N, 32) uint8 array)."""
    arr = np.asarray(hashes if isinstance(hashes, np.ndarray) else
                     np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 32), dtype=np.uint8)
    return arr.reshape(-1, 32).copy().view(">u8").astype(np.uint64).reshape(-1, 4)


def _flips(radius: int) -> np.ndarray:
    masks = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(16), r):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.uint32)


class MultiIndex:
    def __init__(self, words: np.ndarray | None = None) -> None:
        self.words = np.zeros((0, 4), dtype=np.uint64) if words is None else np.ascontiguousarray(words)
        self._build()

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def _chunks(self, words: np.ndarray) -> np.ndarray:
        """(N, 16) uint32 chunk values."""
        parts = [(words[:, w : w + 1] >> np.uint64(48 - 16 * k)) & np.uint64(0xFFFF)
                 for w in range(4) for k in range(4)]
        return np.concatenate(parts, axis=1).astype(np.uint32)

    def _build(self) -> None:
        n = len(self)
        chunks = self._chunks(self.words) if n else np.zeros((0, CHUNKS), dtype=np.uint32)
        self.offsets = np.zeros((CHUNKS, 65537), dtype=np.int64)
        self.rows = np.zeros((CHUNKS, n), dtype=np.int32)
        for c in range(CHUNKS):
            col = chunks[:, c]
            order = np.argsort(col, kind="stable")
            self.rows[c] = order
            self.offsets[c, 1:] = np.cumsum(np.bincount(col, minlength=65536))

    def add(self, words: np.ndarray) -> None:
        self.words = np.concatenate([self.words, words.astype(np.uint64)])
        self._build()

    def query(self, word: np.ndarray, radius: int = 31) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and distances of the stored hashes within ``radius`` of one (4,) uint64 hash."""
        if not len(self):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        q = self._chunks(word.reshape(1, 4))[0]
        probes = (q[:, None] ^ _flips(radius // CHUNKS)[None, :]).astype(np.int64)  # (16, P)
        chunk_ids = np.arange(CHUNKS)[:, None]
        starts = self.offsets[chunk_ids, probes].ravel()
        ends = self.offsets[chunk_ids, probes + 1].ravel()
        lens = ends - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        base = np.repeat(np.broadcast_to(chunk_ids, probes.shape).ravel() * len(self), lens)
        pos = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
        cand = np.unique(self.rows.ravel()[base + pos])
        dist = np.bitwise_count(self.words[cand] ^ word[None, :]).sum(axis=1)
        keep = dist <= radius
        return cand[keep].astype(np.int64), dist[keep].astype(np.int64)


def linear_query(words: np.ndarray, word: np.ndarray, radius: int = 31) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: distance to every stored hash."""
    dist = np.bitwise_count(words ^ word[None, :]).sum(axis=1)
    idx = np.flatnonzero(dist <= radius)
    return idx, dist[idx]
