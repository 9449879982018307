"""Plain records the list stores hand out (no ORM objects leave a store)."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.errors import BadInput
from core.events import assume_utc

KINDS = ("keyword", "person", "title", "account", "domain", "fingerprint")
TEXT_KINDS = ("keyword", "person", "title", "account", "domain")
CATEGORIES = (
    "gambling", "fraud", "pornography", "violence", "drugs", "tainted-artist",
    "banned-work", "illegal-account", "language-standard",
)  # fmt: skip
SEVERITIES = ("info", "low", "medium", "high", "critical")
_CATEGORY_RE = re.compile(r"^[\w][\w.\-]{0,63}$")
_NAME_RE = re.compile(r"^[\w][\w.\-]{0,99}$")


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME_RE.match(name):
        raise BadInput(
            f"list name {name!r} is not valid",
            hint="use letters, digits, Chinese characters, '-', '_' or '.', at most 100 characters",
        )
    return name


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadInput(f"unknown list kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    return kind


def check_category(category: str) -> str:
    """Known categories or a user-defined one (a short slug)."""
    category = (category or "").strip()
    if not _CATEGORY_RE.match(category):
        raise BadInput(
            f"category {category!r} is not valid",
            hint=f"use one of {', '.join(CATEGORIES)} or a short slug of your own",
        )
    return category


def check_severity(severity: str) -> str:
    severity = (severity or "").strip().lower()
    if severity not in SEVERITIES:
        raise BadInput(f"unknown severity {severity!r}", hint=f"use one of: {', '.join(SEVERITIES)}")
    return severity


@dataclass
class ListInfo:
    id: int
    name: str
    kind: str
    category: str
    severity: str
    enabled: bool
    options: dict[str, Any]
    version: int
    description: str = ""
    entry_count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class Entry:
    id: int
    list_id: int
    term: str
    category: str | None = None  # None: the list's category
    severity: str | None = None
    tags: list[str] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str = ""
    note: str = ""
    enabled: bool = True
    pinyin: bool = False  # also match pinyin spellings and homophones
    version: int = 0  # list version of the last change to this entry
    data: dict[str, Any] = field(default_factory=dict)  # kind-specific (e.g. fingerprint hashes)

    def valid_at(self, now: datetime) -> bool:
        if self.valid_from is not None and now < assume_utc(self.valid_from):
            return False
        return not (self.valid_until is not None and now >= assume_utc(self.valid_until))


@dataclass
class EntryIn:
    """An entry to add or update (from an import file or the API)."""

    term: str
    category: str | None = None
    severity: str | None = None
    tags: list[str] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str = ""
    note: str = ""
    enabled: bool = True
    pinyin: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    line: int | None = None  # where it came from, for reports


ENTRY_FIELDS = ("category", "severity", "tags", "valid_from", "valid_until", "source", "note", "enabled", "pinyin", "data")


@dataclass
class AllowEntry:
    id: int
    phrase: str
    list_id: int | None  # None: global
    enabled: bool = True
    note: str = ""


@dataclass
class VersionInfo:
    id: int
    list_id: int | None
    version: int
    user: str
    reason: str
    action: str
    detail: dict[str, Any]
    created_at: datetime


@dataclass
class Snapshot:
    """Everything a matcher needs, read in one consistent go."""

    revision: int
    lists: list[ListInfo]
    entries: dict[int, list[Entry]]  # list id -> enabled entries
    allows: list[AllowEntry]  # enabled allow-list entries
    taken_at: datetime


@dataclass
class Rejected:
    line: int
    reason: str
    text: str = ""


@dataclass
class ImportReport:
    list: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: builtins.list[Rejected] = field(default_factory=builtins.list)
    version: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "list": self.list, "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "version": self.version,
            "rejected": [{"line": r.line, "reason": r.reason, "text": r.text} for r in self.rejected],
        }  # fmt: skip
