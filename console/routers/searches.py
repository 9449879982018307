"""Saved searches (per account): the query string of /search under a name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from console.deps import Role, ServicesDep, require
from console.users import User, UserService

router = APIRouter(tags=["saved searches"])
SearcherDep = Annotated[User, Depends(require(Role.ANALYST, Role.SUPERVISOR))]


class SavedSearchCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    query: str = Field(default="", max_length=4000, description="the query string of /search, e.g. q=赌博&platform=iptv")


class SavedSearchPublic(BaseModel):
    id: int
    name: str
    query: str
    created_at: str


class SavedSearchesPublic(BaseModel):
    data: list[SavedSearchPublic]
    count: int


@router.get("/api/saved-searches", response_model=SavedSearchesPublic)
def list_saved(svc: ServicesDep, user: SearcherDep) -> SavedSearchesPublic:
    data = UserService(svc.db).saved_searches(user.id)
    return SavedSearchesPublic(data=[SavedSearchPublic(**d) for d in data], count=len(data))


@router.post("/api/saved-searches", response_model=SavedSearchPublic, status_code=201)
def create_saved(body: SavedSearchCreate, svc: ServicesDep, user: SearcherDep) -> SavedSearchPublic:
    return SavedSearchPublic(**UserService(svc.db).save_search(user.id, body.name, body.query))


@router.delete("/api/saved-searches/{search_id}", status_code=204)
def delete_saved(search_id: int, svc: ServicesDep, user: SearcherDep) -> Response:
    UserService(svc.db).delete_search(user.id, search_id)
    return Response(status_code=204)


@router.post("/search/saved", include_in_schema=False)
def save_from_page(request: Request, svc: ServicesDep, user: SearcherDep,
                   name: Annotated[str, Form(max_length=128)], query: Annotated[str, Form(max_length=4000)] = "") -> Response:
    UserService(svc.db).save_search(user.id, name, query)
    return RedirectResponse(f"/search?{query.lstrip('?')}", status_code=303)


@router.post("/search/saved/{search_id}/delete", include_in_schema=False)
def delete_from_page(search_id: int, svc: ServicesDep, user: SearcherDep) -> Response:
    UserService(svc.db).delete_search(user.id, search_id)
    return RedirectResponse("/search", status_code=303)
