"""Chinese working days and the deadline rules of complaint handling.

Working days come from chinese-calendar (official holidays and make-up working
days); years it does not know yet come from ``complaints/data/holidays.toml``
plus an optional file named by ``QINGLANG_COMPLAINTS_HOLIDAYS`` (same layout,
wins on conflicts). A year known to neither falls back to Monday–Friday.

Deadline rules are per category, defaults from the published rules: decide
acceptance within 7 working days of registration, units reply within 15
working days of referral, conclude within 60 days of acceptance (extendable
once by at most 30 days with a supervisor's approval).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.errors import ConfigError

TZ = ZoneInfo("Asia/Shanghai")
_BUNDLED = Path(__file__).with_name("data") / "holidays.toml"

WORKING_DAYS = "working_days"
DAYS = "days"


@dataclass(frozen=True)
class Rule:
    name: str
    unit: str  # WORKING_DAYS | DAYS
    amount: int


DEFAULT_RULES: dict[str, Rule] = {
    "acceptance": Rule("acceptance", WORKING_DAYS, 7),
    "unit_reply": Rule("unit_reply", WORKING_DAYS, 15),
    "conclusion": Rule("conclusion", DAYS, 60),
}
MAX_EXTENSION_DAYS = 30


def local_date(moment: datetime | date) -> date:
    """The date in China (Asia/Shanghai) of a moment; naive datetimes are taken as UTC."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:

            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(TZ).date()
    return moment


def _parse_overrides(path: Path) -> dict[date, bool]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"holiday override file {path} cannot be read: {exc}",
            hint="fix the TOML file or unset QINGLANG_COMPLAINTS_HOLIDAYS",
        ) from exc
    out: dict[date, bool] = {}
    for year, table in data.items():
        if not isinstance(table, dict):
            continue
        for key, is_workday in (("holidays", False), ("workdays", True)):
            for item in table.get(key, []):
                try:
                    out[date.fromisoformat(str(item))] = is_workday
                except ValueError as exc:
                    raise ConfigError(
                        f"holiday override file {path}: [{year}] {key} has a bad date {item!r}",
                        hint="write dates as YYYY-MM-DD",
                    ) from exc
    return out


@lru_cache(maxsize=4)
def _overrides(extra: str | None) -> dict[date, bool]:
    out = _parse_overrides(_BUNDLED)
    if extra:
        out.update(_parse_overrides(Path(extra)))
    return out


def overrides() -> dict[date, bool]:
    return _overrides(os.environ.get("QINGLANG_COMPLAINTS_HOLIDAYS") or None)


def is_working_day(day: date) -> bool:
    table = overrides()
    if day in table:
        return table[day]
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` (``start`` itself is not counted)."""
    day = start
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def due_date(rule: Rule, start: date) -> date:
    if rule.unit == WORKING_DAYS:
        return add_working_days(start, rule.amount)
    return start + timedelta(days=rule.amount)


def shift(unit: str, due: date, paused_from: date, paused_to: date) -> date:
    """Move a due date by the length of a pause (the clock stopped)."""
    if unit == WORKING_DAYS:
        return add_working_days(due, working_days_between(paused_from, paused_to))
    return due + (paused_to - paused_from)


def rules_for(category: str, config: dict[str, Any] | None = None) -> dict[str, Rule]:
    """Deadline rules of a category: defaults, then ``[complaints.deadlines.<category>]``.

    ``config`` is the ``complaints`` table of the settings, e.g.
    ``{"deadlines": {"minors": {"acceptance": 3}}}``; ``"*"`` applies to all categories.
    """
    rules = dict(DEFAULT_RULES)
    table = (config or {}).get("deadlines", {}) or {}
    for scope in ("*", category):
        for name, value in (table.get(scope) or {}).items():
            if name not in rules:
                raise ConfigError(
                    f"unknown deadline {name!r} in complaints.deadlines.{scope}",
                    hint=f"use one of {', '.join(DEFAULT_RULES)}",
                )
            unit = rules[name].unit
            if isinstance(value, dict):
                unit = value.get("unit", unit)
                value = value.get("amount", rules[name].amount)
            if unit not in (WORKING_DAYS, DAYS) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"bad deadline {name}={value!r} ({unit}) in complaints.deadlines.{scope}",
                    hint="give a positive whole number of 'working_days' or 'days'",
                )
            rules[name] = Rule(name, unit, value)
    return rules
