"""Fingerprint tables and the store: lists (threshold, minimum run), clips, frame hashes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database
from core.errors import BadInput, NotFound
from detectors.fingerprint.index import MultiIndex, to_words

DEFAULT_THRESHOLD = 31
DEFAULT_MIN_RUN = 3


def _now() -> datetime:
    return datetime.now(UTC)


class FingerprintList(Base):
    __tablename__ = "fingerprint_lists"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer, default=DEFAULT_THRESHOLD)
    min_run: Mapped[int] = mapped_column(Integer, default=DEFAULT_MIN_RUN)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class FingerprintClip(Base):
    __tablename__ = "fingerprint_clips"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    list_name: Mapped[str] = mapped_column(ForeignKey("fingerprint_lists.name", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(512), default="")
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    imported_by: Mapped[str] = mapped_column(String(128), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class FingerprintFrame(Base):
    __tablename__ = "fingerprint_frames"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_name: Mapped[str] = mapped_column(String(128), index=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("fingerprint_clips.id", ondelete="CASCADE"), index=True)
    t: Mapped[float] = mapped_column(Float)  # frame timecode inside the clip (s)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    quality: Mapped[int] = mapped_column(Integer, default=0)


class FingerprintStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_list(self, name: str, *, threshold: int | None = None, min_run: int | None = None) -> dict[str, Any]:
        if not name or len(name) > 128:
            raise BadInput(f"fingerprint list name {name!r} is empty or too long", hint="use 1-128 characters")
        if threshold is not None and not 0 <= threshold <= 128:
            raise BadInput(f"Hamming threshold {threshold} is out of range", hint="use 0-128 (PDQ's usual: 31)")
        with self.db.session() as s:
            row = s.get(FingerprintList, name)
            if row is None:
                row = FingerprintList(name=name, threshold=threshold or DEFAULT_THRESHOLD,
                                      min_run=min_run or DEFAULT_MIN_RUN, created_at=_now())
                s.add(row)
            else:
                if threshold is not None:
                    row.threshold = threshold
                if min_run is not None:
                    row.min_run = min_run
            return {"name": row.name, "threshold": row.threshold, "min_run": row.min_run}

    def lists(self) -> dict[str, dict[str, int]]:
        with self.db.session() as s:
            return {r.name: {"threshold": r.threshold, "min_run": r.min_run}
                    for r in s.scalars(select(FingerprintList))}

    def add_clip(self, list_name: str, clip_id: str, title: str, duration: float,
                 frames: list[tuple[float, bytes, int]], user: str) -> None:
        with self.db.session() as s:
            if s.get(FingerprintList, list_name) is None:
                raise NotFound(f"fingerprint list {list_name!r} does not exist", hint="create it first")
            s.execute(delete(FingerprintFrame).where(FingerprintFrame.clip_id == clip_id))
            old = s.get(FingerprintClip, clip_id)
            if old is not None:
                s.delete(old)
                s.flush()
            s.add(FingerprintClip(id=clip_id, list_name=list_name, title=title, duration=duration,
                                  frames=len(frames), imported_by=user, imported_at=_now()))
            s.flush()
            s.add_all(FingerprintFrame(list_name=list_name, clip_id=clip_id, t=t, hash=h, quality=q)
                      for t, h, q in frames)

    def clips(self, list_name: str | None = None) -> list[dict[str, Any]]:
        with self.db.session() as s:
            q = select(FingerprintClip)
            if list_name:
                q = q.where(FingerprintClip.list_name == list_name)
            return [{"id": c.id, "list": c.list_name, "title": c.title, "duration": c.duration,
                     "frames": c.frames} for c in s.scalars(q)]

    def count(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count(FingerprintFrame.id))) or 0)

    def load_index(self) -> FingerprintIndex:
        with self.db.session() as s:
            rows = s.execute(select(FingerprintFrame.list_name, FingerprintFrame.clip_id, FingerprintFrame.t,
                                    FingerprintFrame.hash).order_by(FingerprintFrame.id)).all()
        idx = FingerprintIndex(self.lists())
        idx.add([(r[0], r[1], float(r[2]), bytes(r[3])) for r in rows])
        return idx


class FingerprintIndex:
    """Hashes in memory with their (list, clip, timecode), searchable by Hamming radius."""

    def __init__(self, lists: dict[str, dict[str, int]] | None = None) -> None:
        self.lists = dict(lists or {})
        self.meta: list[tuple[str, str, float]] = []
        self.mih = MultiIndex()

    def __len__(self) -> int:
        return len(self.meta)

    def add(self, rows: list[tuple[str, str, float, bytes]]) -> None:
        if not rows:
            return
        self.meta += [(r[0], r[1], r[2]) for r in rows]
        self.mih.add(to_words([r[3] for r in rows]))

    def threshold(self, list_name: str) -> int:
        return int(self.lists.get(list_name, {}).get("threshold", DEFAULT_THRESHOLD))

    def min_run(self, list_name: str) -> int:
        return int(self.lists.get(list_name, {}).get("min_run", DEFAULT_MIN_RUN))

    def search(self, hash32: bytes) -> list[tuple[str, str, float, int]]:
        """(list, clip, clip timecode, distance) within each list's threshold, nearest first."""
        radius = max([self.threshold(n) for n in self.lists] + [DEFAULT_THRESHOLD])
        rows, dists = self.mih.query(to_words([hash32])[0], radius)
        out = []
        for r, d in zip(rows.tolist(), dists.tolist(), strict=True):
            lst, clip, t = self.meta[r]
            if d <= self.threshold(lst):
                out.append((lst, clip, t, int(d)))
        return sorted(out, key=lambda x: x[3])

    def words(self) -> np.ndarray:
        return self.mih.words
