"""Index interface and the query model shared by every implementation.

Documents are ``Hit.to_json()`` dicts; the document id is the hit id, so
``upsert`` of the same hit twice leaves one document.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

# Filterable / facetable keyword fields of a hit document.
FACET_FIELDS = ("source_id", "detector", "list_name", "category", "severity", "platform", "origin")


_list = list  # the field named ``list`` below shadows the builtin inside the class body


@dataclass
class HitQuery:
    q: str = ""  # full-text (Chinese) over text, matched, term, snippet
    since: datetime | None = None  # detected_at >= since
    until: datetime | None = None  # detected_at < until
    source: _list[str] = field(default_factory=_list)
    detector: _list[str] = field(default_factory=_list)
    list: _list[str] = field(default_factory=_list)  # list_name
    category: _list[str] = field(default_factory=_list)
    severity: _list[str] = field(default_factory=_list)
    platform: _list[str] = field(default_factory=_list)
    size: int = 50
    # Stable paging beyond any window: the ``cursor`` of the previous page.
    cursor: str | None = None
    facets: bool = True
    histogram: bool = True  # counts per day (UTC date of detected_at)
    fields: _list[str] | None = None  # only these top-level fields of each document (None: all)


@dataclass
class SearchResult:
    hits: list[dict[str, Any]]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    per_day: dict[str, int] = field(default_factory=dict)  # "YYYY-MM-DD" -> n
    cursor: str | None = None  # pass back for the next page; None at the end


class HitIndex(abc.ABC):
    """Sort order of search results: detected_at descending, then id descending."""

    @abc.abstractmethod
    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        """Write hit documents (id = doc['id']); returns how many were written."""

    @abc.abstractmethod
    def get(self, hit_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def search(self, query: HitQuery) -> SearchResult: ...

    @abc.abstractmethod
    def count(self) -> int: ...

    def refresh(self) -> None:  # noqa: B027
        """Make every write searchable (no-op where writes are immediate)."""

    def scan(self, query: HitQuery) -> Iterator[dict[str, Any]]:
        """Every matching document, page by page (for exports)."""
        q = HitQuery(**{**query.__dict__, "facets": False, "histogram": False, "size": 1000})
        while True:
            res = self.search(q)
            yield from res.hits
            if not res.cursor or not res.hits:
                return
            q.cursor = res.cursor

    def ids(self) -> set[str]:
        return {d["id"] for d in self.scan(HitQuery())}

    def close(self) -> None:  # noqa: B027
        pass
