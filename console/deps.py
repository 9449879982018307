"""Dependencies as ``Annotated`` aliases (FastAPI full-stack template style).

Routers declare what they need:

    @router.get("")
    def list_things(user: Annotated[User, Depends(require(Role.ANALYST))], svc: ServicesDep): ...

``require(*roles)`` lets a signed-in user through when they hold any of the
roles (administrators hold every role); otherwise 401 (not signed in) or 403.
The session/cookie/CSRF machinery lives in console/auth.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from core.services import Services
from core.settings import Settings


class Role(StrEnum):
    OPERATOR = "operator"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    LIST_ADMIN = "list_admin"
    ADMIN = "admin"


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings_dep(svc: ServicesDep) -> Settings:
    return svc.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(svc: ServicesDep) -> Any:
    with svc.db.session() as s:
        yield s


SessionDep = Annotated[Session, Depends(get_session)]


def require(*roles: Role | str) -> Callable[..., Any]:
    """Dependency factory: the current user, who must hold one of ``roles``."""
    from console.auth import require_roles  # implemented in console/auth.py

    return require_roles(*[str(r) for r in roles])
