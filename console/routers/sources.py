"""Sources API: the register of monitored sources, their health, and sampling boosts.

Operators and analysts read; administrators write; supervisors may also raise sampling (boosts). List responses are
``{"data": [...], "count": N}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from console.deps import Role, ServicesDep, require
from core.events import SamplingProfile, SourceKind
from core.services import Services
from ingest.registry import SourceRegistry

router = APIRouter(prefix="/api/sources", tags=["sources"])

ReaderDep = Annotated[Any, Depends(require(Role.OPERATOR, Role.ANALYST, Role.SUPERVISOR))]
AdminDep = Annotated[Any, Depends(require(Role.ADMIN))]
BoosterDep = Annotated[Any, Depends(require(Role.SUPERVISOR))]  # targeted monitoring


class SourceCreate(BaseModel):
    id: str | None = Field(default=None, max_length=64, description="default: derived from kind and locator")
    kind: SourceKind
    name: str = Field(min_length=1, max_length=256)
    operator: str = Field(default="", max_length=256)
    licence: str = Field(default="", max_length=128)
    locator: str = Field(min_length=1, max_length=4000)
    tags: list[str] = Field(default_factory=list)
    profile: SamplingProfile = Field(default_factory=SamplingProfile)
    options: dict[str, Any] = Field(default_factory=dict)
    schedule: str = Field(default="", max_length=64, description="continuous, once, manual, 900, 15m; empty = auto")
    language: str = Field(default="zh", max_length=16)
    enabled: bool = True


class SourceUpdate(BaseModel):
    kind: SourceKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=256)
    operator: str | None = Field(default=None, max_length=256)
    licence: str | None = Field(default=None, max_length=128)
    locator: str | None = Field(default=None, min_length=1, max_length=4000)
    tags: list[str] | None = None
    profile: SamplingProfile | None = None
    options: dict[str, Any] | None = None
    schedule: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    enabled: bool | None = None


class SourceHealth(BaseModel):
    state: str = "idle"
    last_sample_at: datetime | None = None
    last_run_at: datetime | None = None
    samples_total: int = 0
    errors_total: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None


class SourcePublic(BaseModel):
    id: str
    kind: str
    name: str
    operator: str
    licence: str
    locator: str
    tags: list[str]
    profile: SamplingProfile
    options: dict[str, Any]
    schedule: str
    language: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    health: SourceHealth = Field(default_factory=SourceHealth)


class SourcesPublic(BaseModel):
    data: list[SourcePublic]
    count: int


class BoostCreate(BaseModel):
    factor: float = Field(gt=0, le=100, description="sampling multiplier, e.g. 2")
    until: datetime
    reason: str = Field(default="", max_length=2000)


class BoostPublic(BaseModel):
    id: int
    source_id: str
    factor: float
    until: datetime
    reason: str


def registry(svc: Services) -> SourceRegistry:
    reg = svc.extras.get("source_registry")
    if reg is None:
        reg = SourceRegistry(svc.db)
        svc.extras["source_registry"] = reg
    return reg  # type: ignore[no-any-return]


def _public(reg: SourceRegistry, row: dict[str, Any], health: dict[str, Any] | None = None) -> SourcePublic:
    h = health if health is not None else reg.health(row["id"])
    h = {k: v for k, v in (h or {}).items() if k != "source_id"}
    return SourcePublic(**row, health=SourceHealth(**h))


def _fields(body: BaseModel) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True, mode="json")
    return {k: v for k, v in data.items() if v is not None}


@router.get("", response_model=SourcesPublic, summary="Sources with their health")
def list_sources(
    svc: ServicesDep, user: ReaderDep,
    kind: Annotated[SourceKind | None, Query()] = None,
    tag: str | None = None,
    enabled: bool | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SourcesPublic:
    reg = registry(svc)
    rows, total = reg.list(enabled=enabled, kind=kind.value if kind else None, tag=tag, offset=offset, limit=limit)
    health = reg.health()
    return SourcesPublic(data=[_public(reg, r, health.get(r["id"], {})) for r in rows], count=total)


@router.post("", response_model=SourcePublic, status_code=201, summary="Register a source")
async def create_source(body: SourceCreate, svc: ServicesDep, user: AdminDep) -> SourcePublic:
    reg = registry(svc)
    row = await run_in_threadpool(lambda: reg.add(**_fields(body)))
    return _public(reg, row)


@router.get("/{source_id}", response_model=SourcePublic, summary="One source")
def get_source(source_id: str, svc: ServicesDep, user: ReaderDep) -> SourcePublic:
    reg = registry(svc)
    return _public(reg, reg.get(source_id))


@router.patch("/{source_id}", response_model=SourcePublic, summary="Change a source")
async def update_source(source_id: str, body: SourceUpdate, svc: ServicesDep, user: AdminDep) -> SourcePublic:
    reg = registry(svc)
    row = await run_in_threadpool(lambda: reg.update(source_id, **_fields(body)))
    return _public(reg, row)


@router.delete("/{source_id}", status_code=204, summary="Remove a source")
async def delete_source(source_id: str, svc: ServicesDep, user: AdminDep) -> Response:
    await run_in_threadpool(registry(svc).delete, source_id)
    return Response(status_code=204)


@router.post("/{source_id}/boosts", response_model=BoostPublic, status_code=201,
             summary="Raise a source's sampling until a time (targeted monitoring)")
async def boost_source(source_id: str, body: BoostCreate, svc: ServicesDep, user: BoosterDep) -> BoostPublic:
    reg = registry(svc)
    bid = await run_in_threadpool(lambda: reg.boost(source_id, body.factor, body.until, body.reason))
    return BoostPublic(id=bid, source_id=source_id, factor=body.factor, until=body.until, reason=body.reason)
