"""Hits API: full-text search with filters, facets and per-day counts; CSV export; one hit."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Iterator

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from console.deps import Role, ServicesDep, require
from console.query import build_query
from console.users import User
from core.errors import NotFound
from core.index.base import HitQuery

router = APIRouter(prefix="/api/hits", tags=["hits"])

SEARCH_ROLES = (Role.ANALYST, Role.SUPERVISOR)
READ_ROLES = (Role.ANALYST, Role.SUPERVISOR, Role.OPERATOR, Role.HANDLER)
SearcherDep = Annotated[User, Depends(require(*SEARCH_ROLES))]

CSV_COLUMNS = ("id", "detected_at", "source_id", "platform", "program", "detector", "list_name",
               "entry_id", "list_version", "term", "matched", "category", "severity", "origin",
               "confidence", "media_start", "media_end", "snippet", "frame", "clip", "sample_id")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class HitsPublic(BaseModel):
    data: list[dict[str, Any]]
    count: int
    facets: dict[str, dict[str, int]] = {}
    per_day: dict[str, int] = {}
    cursor: str | None = None


class HitFilters:
    """The query parameters shared by search and export."""

    def __init__(
        self,
        q: Annotated[str, Query(description="full-text Chinese query", max_length=500)] = "",
        since: Annotated[str | None, Query(description="date (Beijing day) or ISO datetime (UTC if no offset)")] = None,
        until: Annotated[str | None, Query(description="exclusive; a date includes that whole day")] = None,
        source: Annotated[list[str] | None, Query()] = None,
        detector: Annotated[list[str] | None, Query()] = None,
        list: Annotated[list[str] | None, Query()] = None,  # noqa: A002 - the API contract name
        category: Annotated[list[str] | None, Query()] = None,
        severity: Annotated[list[str] | None, Query()] = None,
        platform: Annotated[list[str] | None, Query()] = None,
    ) -> None:
        self.q, self.since, self.until = q, since, until
        # Any: build_query takes these as its open **multi filters, beside its typed keywords
        self.multi: dict[str, Any] = {"source": source, "detector": detector, "list": list,
                                      "category": category, "severity": severity, "platform": platform}

    def query(self, **kw: Any) -> HitQuery:
        return build_query(q=self.q, since=self.since, until=self.until, **self.multi, **kw)


FiltersDep = Annotated[HitFilters, Depends()]


@router.get("", response_model=HitsPublic, summary="Search hits (newest first)")
def search_hits(
    svc: ServicesDep, user: SearcherDep, filters: FiltersDep,
    size: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(description="the cursor of the previous page")] = None,
    facets: bool = True, histogram: bool = True,
) -> HitsPublic:
    res = svc.index.search(filters.query(size=size, cursor=cursor, facets=facets, histogram=histogram))
    return HitsPublic(data=res.hits, count=res.total, facets=res.facets, per_day=res.per_day, cursor=res.cursor)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text  # no formula injection in spreadsheets


def csv_row(doc: dict[str, Any]) -> list[str]:
    ev = doc.get("evidence") or {}
    flat = {**doc, "snippet": ev.get("snippet"), "frame": ev.get("frame"), "clip": ev.get("clip"),
            "media_start": ev.get("media_start"), "media_end": ev.get("media_end")}
    return [_cell(flat.get(c)) for c in CSV_COLUMNS]


def csv_stream(docs: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # spreadsheets then read the Chinese text as UTF-8
    writer.writerow(CSV_COLUMNS)
    n = 0
    for doc in docs:
        writer.writerow(csv_row(doc))
        n += 1
        if n % 500 == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


@router.get("/export.csv", summary="Every matching hit as CSV (streamed, no row cap)",
            response_class=StreamingResponse)
def export_csv(svc: ServicesDep, user: SearcherDep, filters: FiltersDep) -> StreamingResponse:
    query = filters.query(size=1, facets=False, histogram=False)
    total = svc.index.search(query).total
    return StreamingResponse(
        csv_stream(svc.index.scan(query)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="qinglang-hits.csv"',
                 "X-Total-Count": str(total), "Cache-Control": "no-store"},
    )


@router.get("/{hit_id}", summary="One hit document")
def get_hit(hit_id: str, svc: ServicesDep,
            user: Annotated[User, Depends(require(*READ_ROLES))]) -> dict[str, Any]:
    doc = svc.index.get(hit_id)
    if doc is None:
        raise NotFound(f"hit {hit_id} does not exist", hint="check the id; search with GET /api/hits")
    return doc
