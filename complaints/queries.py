"""Queues, search and statistics over cases (mixed into CaseService)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from complaints import calendar as cal
from complaints.models import Case, Deadline
from complaints.views import summary, utc
from core.errors import BadInput

QUEUES = ("all", "mine", "due-soon", "overdue", "escalated")
DUE_SOON_DAYS = 3
MAX_PAGE = 500


class QueriesMixin:
    """Needs ``self.db``, ``self.actor``, ``self.now()`` and ``self._need``."""

    def list_cases(self, queue: str = "all", *, state: str | None = None, category: str | None = None,
                   channel: str | None = None, q: str | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of a queue: (rows, total count)."""
        from complaints.service import READING

        self._need(READING, "read cases")  # type: ignore[attr-defined]
        if queue not in QUEUES:
            raise BadInput(f"unknown queue {queue!r}", hint=f"use one of: {', '.join(QUEUES)}")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise BadInput(f"bad page limit={limit} offset={offset}", hint=f"limit 1..{MAX_PAGE}, offset ≥ 0")
        today = cal.local_date(self.now())  # type: ignore[attr-defined]
        conds: list[Any] = []
        open_dl = (Deadline.case_id == Case.id) & Deadline.met_at.is_(None)
        if queue == "mine":
            conds += [Case.assignee == self.actor.name, Case.state.notin_(("closed", "merged"))]  # type: ignore[attr-defined]
        elif queue == "overdue":
            conds += [exists().where(open_dl & (Deadline.due < today)), Case.paused_at.is_(None)]
        elif queue == "due-soon":
            soon = today + timedelta(days=DUE_SOON_DAYS)
            conds += [exists().where(open_dl & (Deadline.due >= today) & (Deadline.due <= soon))]
        elif queue == "escalated":
            conds += [exists().where(open_dl & Deadline.escalated_at.is_not(None))]
        if state:
            conds.append(Case.state == state)
        if category:
            conds.append(Case.category == category)
        if channel:
            conds.append(Case.channel == channel)
        if q:
            like = f"%{q.replace('%', '').replace('_', '')}%"
            conds.append(or_(Case.target.like(like), Case.description.like(like),
                             Case.tracking_code == q.strip().upper()))
        with self.db.session() as s:  # type: ignore[attr-defined]
            total = s.execute(select(func.count(Case.id)).where(*conds)).scalar_one()
            rows = s.execute(
                select(Case).where(*conds).options(selectinload(Case.deadlines))
                .order_by(Case.id.desc()).limit(limit).offset(offset)
            ).scalars().all()
            return [summary(c, today) for c in rows], int(total)

    def stats(self) -> dict[str, Any]:
        """Cases by state, category, platform and channel; on-time rate; handling time."""
        from complaints.service import READING

        self._need(READING, "read statistics")  # type: ignore[attr-defined]
        out: dict[str, Any] = {}
        with self.db.session() as s:  # type: ignore[attr-defined]
            for name, col in (("by_state", Case.state), ("by_category", Case.category),
                              ("by_platform", Case.target_platform), ("by_channel", Case.channel)):
                out[name] = {str(k or "(none)"): int(n) for k, n in
                             s.execute(select(col, func.count(Case.id)).group_by(col).order_by(col))}
            out["total"] = sum(out["by_state"].values())
            on_time: dict[str, Any] = {}
            for name, met, good in s.execute(
                select(Deadline.name, func.count(Deadline.id),
                       func.count(Deadline.id).filter(Deadline.on_time.is_(True)))
                .where(Deadline.met_at.is_not(None)).group_by(Deadline.name)
            ):
                on_time[name] = {"met": int(met), "on_time": int(good),
                                 "rate": round(good / met, 4) if met else None}
            met_all = sum(v["met"] for v in on_time.values())
            good_all = sum(v["on_time"] for v in on_time.values())
            out["on_time"] = on_time
            out["on_time_rate"] = round(good_all / met_all, 4) if met_all else None
            durations = [
                (utc(closed) - utc(reg)).total_seconds() / 86400
                for reg, closed in s.execute(
                    select(Case.registered_at, Case.closed_at).where(Case.closed_at.is_not(None)))
            ]
            out["handling_days"] = {
                "closed": len(durations),
                "mean": round(sum(durations) / len(durations), 2) if durations else None,
                "max": round(max(durations), 2) if durations else None,
            }
        return out

    def stats_csv(self) -> str:
        """The statistics as CSV: ``section,key,value`` rows."""
        st = self.stats()
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["section", "key", "value"])
        for section in ("by_state", "by_category", "by_platform", "by_channel"):
            for key, value in st[section].items():
                w.writerow([section, _cell(key), value])
        w.writerow(["total", "cases", st["total"]])
        for name, v in st["on_time"].items():
            w.writerow(["on_time_rate", name, v["rate"]])
        w.writerow(["on_time_rate", "all", st["on_time_rate"]])
        for key, value in st["handling_days"].items():
            w.writerow(["handling_days", key, value])
        return buf.getvalue()


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas in exported text (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
