"""Accounts (administrators only): JSON API and the /admin/users page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from console.auth import require_roles
from console.deps import Role, ServicesDep
from console.templating import render
from console.users import ROLES, User, UserService
from core.errors import BadInput, QinglangError

router = APIRouter(tags=["users"])
AdminDep = Annotated[User, Depends(require_roles(Role.ADMIN))]


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    roles: list[str] = Field(min_length=1)
    display_name: str = ""


class UserUpdate(BaseModel):
    roles: list[str] | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)
    display_name: str | None = None


class UserPublic(BaseModel):
    id: int
    name: str
    display_name: str
    roles: list[str]
    disabled: bool


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class Me(UserPublic):
    csrf_token: str = ""


@router.get("/api/users", response_model=UsersPublic)
def list_users(svc: ServicesDep, admin: AdminDep) -> UsersPublic:
    data = [UserPublic(**u.public()) for u in UserService(svc.db).list()]
    return UsersPublic(data=data, count=len(data))


@router.post("/api/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, svc: ServicesDep, admin: AdminDep) -> UserPublic:
    user = UserService(svc.db).create(body.name, body.password, body.roles, body.display_name)
    return UserPublic(**user.public())


@router.patch("/api/users/{user_id}", response_model=UserPublic)
def update_user(user_id: int, body: UserUpdate, svc: ServicesDep, admin: AdminDep) -> UserPublic:
    users = UserService(svc.db)
    user = users.get(user_id)
    if body.disabled and user.id == admin.id:
        raise BadInput("you cannot disable your own account", hint="ask another administrator")
    if body.roles is not None:
        user = users.set_roles(user_id, body.roles)
    if body.disabled is not None:
        user = users.set_disabled(user_id, body.disabled)
    if body.password:
        user = users.set_password(user_id, body.password)
    return UserPublic(**user.public())


@router.get("/api/me", response_model=Me, tags=["users"])
def me(request: Request, user: Annotated[User, Depends(require_roles())]) -> Me:
    return Me(**user.public(), csrf_token=getattr(request.state, "csrf_token", ""))


@router.get("/admin/users", include_in_schema=False)
def users_page(request: Request, svc: ServicesDep, admin: AdminDep, error: str | None = None) -> Response:
    return render(request, "users.html", {"users": UserService(svc.db).list(), "roles": ROLES, "error": error})


@router.post("/admin/users", include_in_schema=False)
def users_form(request: Request, svc: ServicesDep, admin: AdminDep,
               op: Annotated[str, Form()], name: Annotated[str, Form(max_length=64)],
               password: Annotated[str, Form(max_length=256)] = "",
               roles: Annotated[list[str] | None, Form()] = None) -> Response:
    users = UserService(svc.db)
    try:
        if op == "create":
            users.create(name, password, roles or [])
        elif op == "roles":
            users.set_roles(name, roles or [])
        elif op in ("disable", "enable"):
            if op == "disable" and name == admin.name:
                raise BadInput("you cannot disable your own account", hint="ask another administrator")
            users.set_disabled(name, op == "disable")
        elif op == "password":
            users.set_password(name, password)
        else:
            raise BadInput(f"unknown operation {op!r}", hint="use the buttons of the page")
    except QinglangError as exc:
        return render(request, "users.html", {"users": users.list(), "roles": ROLES,
                                              "error": f"{exc.message}（{exc.hint}）"}, status_code=exc.http_status)
    return RedirectResponse("/admin/users", status_code=303)
