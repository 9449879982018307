"""Lists API (/api/lists): negative lists, entries, allow-list, import/export, versions.

List administrators write; list administrators, analysts and operators read.
List responses are ``{"data": [...], "count": N}``. Every write records who
(the signed-in account), when and why (``reason``) in the list's history.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from console.deps import Role, ServicesDep, require
from core.errors import BadInput, RecordTooLarge
from core.services import Services
from detectors.lists.sql import SqlListStore
from detectors.lists.types import EntryIn

router = APIRouter(prefix="/api/lists", tags=["lists"])

READ_ROLES = (Role.LIST_ADMIN, Role.ANALYST, Role.OPERATOR)
ReaderDep = Annotated[Any, Depends(require(*READ_ROLES))]
AdminDep = Annotated[Any, Depends(require(Role.LIST_ADMIN))]
Kind = Literal["keyword", "person", "title", "account", "domain", "fingerprint"]
Sev = Literal["info", "low", "medium", "high", "critical"]


def store_for(svc: Services) -> SqlListStore:
    return SqlListStore(svc.db)


class ListCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: Kind = "keyword"
    category: str = Field(min_length=1, max_length=64, description="gambling, fraud, pornography, … or your own")
    severity: Sev = "medium"
    description: str = Field(default="", max_length=2000)
    options: dict[str, Any] = Field(default_factory=dict, description="evasion rules, e.g. {\"noise_gap\": 3}")
    reason: str = Field(default="", max_length=1000)


class ListUpdate(BaseModel):
    enabled: bool | None = None
    category: str | None = Field(default=None, min_length=1, max_length=64)
    severity: Sev | None = None
    description: str | None = Field(default=None, max_length=2000)
    options: dict[str, Any] | None = None
    reason: str = Field(default="", max_length=1000)


class ListPublic(BaseModel):
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


class ListsPublic(BaseModel):
    data: list[ListPublic]
    count: int


class EntryCreate(BaseModel):
    term: str = Field(min_length=1, max_length=500)
    category: str | None = Field(default=None, max_length=64)
    severity: Sev | None = None
    tags: list[str] = Field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)
    enabled: bool = True
    pinyin: bool = False


class EntriesCreate(BaseModel):
    entries: list[EntryCreate] = Field(min_length=1, max_length=10000)
    reason: str = Field(default="", max_length=1000)


class EntryUpdate(BaseModel):
    category: str | None = Field(default=None, max_length=64)
    severity: Sev | None = None
    tags: list[str] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    enabled: bool | None = Field(default=None, description="false makes the entry a tombstone (kept, not matched)")
    pinyin: bool | None = None
    reason: str = Field(default="", max_length=1000)


class EntryPublic(BaseModel):
    id: int
    list_id: int
    term: str
    category: str | None = None
    severity: str | None = None
    tags: list[str] = Field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str = ""
    note: str = ""
    enabled: bool = True
    pinyin: bool = False
    version: int = 0


class EntriesPublic(BaseModel):
    data: list[EntryPublic]
    count: int


class ImportPublic(BaseModel):
    list: str
    added: int
    updated: int
    unchanged: int
    version: int
    rejected: builtins.list[dict[str, Any]]


class VersionPublic(BaseModel):
    id: int
    version: int
    user: str
    reason: str
    action: str
    detail: dict[str, Any]
    created_at: datetime


class VersionsPublic(BaseModel):
    data: list[VersionPublic]
    count: int


class AllowCreate(BaseModel):
    phrase: str = Field(min_length=1, max_length=500)
    list: str | None = Field(default=None, description="list name; empty = every list")
    note: str = Field(default="", max_length=2000)
    reason: str = Field(default="", max_length=1000)


class AllowPublic(BaseModel):
    id: int
    phrase: str
    list_id: int | None
    enabled: bool
    note: str = ""


class AllowsPublic(BaseModel):
    data: list[AllowPublic]
    count: int


class MatchRequest(BaseModel):
    text: str = Field(max_length=1_000_000)


def _list(i: Any) -> ListPublic:
    return ListPublic(**{k: getattr(i, k) for k in ListPublic.model_fields})


def _entry(e: Any) -> EntryPublic:
    return EntryPublic(**{k: getattr(e, k) for k in EntryPublic.model_fields})


def _changes(body: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(exclude_unset=True).items() if k != "reason"}


# -- lists ----------------------------------------------------------------------------------
@router.get("", response_model=ListsPublic, summary="Every negative list")
def list_lists(svc: ServicesDep, user: ReaderDep) -> ListsPublic:
    data = [_list(i) for i in store_for(svc).lists()]
    return ListsPublic(data=data, count=len(data))


@router.post("", response_model=ListPublic, status_code=201, summary="Create a list")
async def create_list(body: ListCreate, svc: ServicesDep, user: AdminDep) -> ListPublic:
    info = await run_in_threadpool(
        lambda: store_for(svc).create_list(body.name, body.kind, body.category, body.severity, options=body.options,
                                           description=body.description, user=user.name, reason=body.reason)
    )  # fmt: skip
    return _list(info)


@router.post("/match", summary="Try text against the enabled lists (hits as `qinglang match --json`)")
def try_match(body: MatchRequest, svc: ServicesDep, user: ReaderDep) -> dict[str, Any]:
    from detectors.matcher.matcher import Matcher, hit_json

    hits = [hit_json(f) for f in Matcher(store_for(svc).snapshot()).match(body.text)]
    return {"data": hits, "count": len(hits)}


@router.get("/allow", response_model=AllowsPublic, summary="Allowed phrases (exceptions)")
def list_allows(svc: ServicesDep, user: ReaderDep) -> AllowsPublic:
    data = [AllowPublic(**vars(a)) for a in store_for(svc).allows()]
    return AllowsPublic(data=data, count=len(data))


@router.post("/allow", response_model=AllowPublic, status_code=201, summary="Allow a phrase, for one list or all")
async def create_allow(body: AllowCreate, svc: ServicesDep, user: AdminDep) -> AllowPublic:
    a = await run_in_threadpool(
        lambda: store_for(svc).add_allow(body.phrase, body.list or None, note=body.note, user=user.name,
                                         reason=body.reason)
    )  # fmt: skip
    return AllowPublic(**vars(a))


@router.get("/{name}", response_model=ListPublic, summary="One list")
def get_list(name: str, svc: ServicesDep, user: ReaderDep) -> ListPublic:
    return _list(store_for(svc).get_list(name))


@router.patch("/{name}", response_model=ListPublic, summary="Enable/disable a list, change its options")
async def update_list(name: str, body: ListUpdate, svc: ServicesDep, user: AdminDep) -> ListPublic:
    changes = _changes(body)
    if not changes:
        raise BadInput("nothing to change", hint="send at least one of enabled, category, severity, options")
    info = await run_in_threadpool(lambda: store_for(svc).update_list(name, changes, user=user.name, reason=body.reason))
    return _list(info)


# -- entries ----------------------------------------------------------------------------------
@router.get("/{name}/entries", response_model=EntriesPublic, summary="A page of a list's entries")
def list_entries(
    name: str, svc: ServicesDep, user: ReaderDep,
    offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000),
    q: str | None = Query(None, max_length=200, description="term contains"),
    enabled: bool | None = Query(None, description="true: only live entries"),
) -> EntriesPublic:  # fmt: skip
    page, total = store_for(svc).entries(name, offset=offset, limit=limit, q=q, include_disabled=not enabled)
    return EntriesPublic(data=[_entry(e) for e in page], count=total)


@router.post("/{name}/entries", response_model=ImportPublic, status_code=201, summary="Add or update entries")
async def add_entries(name: str, body: EntriesCreate, svc: ServicesDep, user: AdminDep) -> ImportPublic:
    items = [EntryIn(**e.model_dump()) for e in body.entries]
    report = await run_in_threadpool(
        lambda: store_for(svc).upsert_entries(name, items, user=user.name, reason=body.reason or "api")
    )
    return ImportPublic(**report.to_json())


@router.patch("/{name}/entries/{entry_id}", response_model=EntryPublic, summary="Change an entry (enabled=false: tombstone)")
async def update_entry(name: str, entry_id: int, body: EntryUpdate, svc: ServicesDep, user: AdminDep) -> EntryPublic:
    store = store_for(svc)
    info = store.get_list(name)
    if store.get_entry(entry_id).list_id != info.id:
        from core.errors import NotFound

        raise NotFound(f"list {name!r} has no entry {entry_id}", hint=f"GET /api/lists/{name}/entries")
    changes = _changes(body)
    e = await run_in_threadpool(lambda: store.update_entry(entry_id, changes, user=user.name, reason=body.reason))
    return _entry(e)


# -- import / export / versions -------------------------------------------------------------------
@router.post("/{name}/import", response_model=ImportPublic, summary="Upload a txt or csv file (created if needed)")
async def import_file(
    name: str, svc: ServicesDep, user: AdminDep,
    file: UploadFile = File(...), kind: Kind = Form("keyword"), category: str | None = Form(None),
    severity: Sev | None = Form(None), format: Literal["txt", "csv"] | None = Form(None), reason: str = Form(""),
) -> ImportPublic:  # fmt: skip
    from detectors.lists.io import guess_format, import_data

    limit = svc.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise RecordTooLarge(f"the file is larger than {limit} bytes", hint="split it, or use: qinglang lists import")
    fmt = guess_format(file.filename or "", format)
    report = await run_in_threadpool(
        lambda: import_data(store_for(svc), name, data, fmt=fmt, kind=kind, category=category, severity=severity,
                            user=user.name, reason=reason, source_name=file.filename or "upload")
    )  # fmt: skip
    return ImportPublic(**report.to_json())


@router.get("/{name}/export", response_class=PlainTextResponse, summary="The list as txt or csv")
def export_list(name: str, svc: ServicesDep, user: ReaderDep,
                format: Literal["txt", "csv"] = Query("csv")) -> PlainTextResponse:  # fmt: skip
    from detectors.lists.io import export_text

    entries, _ = store_for(svc).entries(name, limit=None)
    media = "text/csv" if format == "csv" else "text/plain"
    return PlainTextResponse(
        export_text(entries, format), media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=list-{entries[0].list_id if entries else 0}.{format}"},
    )  # fmt: skip


@router.get("/{name}/versions", response_model=VersionsPublic, summary="The list's history: who, when, why")
def list_versions(name: str, svc: ServicesDep, user: ReaderDep) -> VersionsPublic:
    data = [VersionPublic(**{k: getattr(v, k) for k in VersionPublic.model_fields}) for v in store_for(svc).versions(name)]
    return VersionsPublic(data=data, count=len(data))
