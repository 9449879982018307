"""Console accounts: argon2 password hashes, roles, saved searches.

``UserService`` is the one place that reads or writes accounts; the CLI
(``qinglang users``), the admin page and the login form all go through it.
"""

from __future__ import annotations

import builtins
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from console.deps import Role
from core.db import Base, Database
from core.errors import BadInput, Conflict, NotFound
from core.events import utcnow

ROLES: tuple[str, ...] = tuple(r.value for r in Role)
_NAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{1,64}$")
MIN_PASSWORD = 8

_hasher = PasswordHasher()


class AccountRow(Base):
    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[str] = mapped_column(String(256), default="")  # comma-separated
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SavedSearchRow(Base):
    __tablename__ = "console_saved_searches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    query: Mapped[str] = mapped_column(Text)  # the URL query string of /search
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass
class User:
    """The signed-in user as routes see it."""

    id: int
    name: str
    roles: list[str] = field(default_factory=list)
    display_name: str = ""
    disabled: bool = False
    session_version: int = 1

    @property
    def username(self) -> str:
        return self.name

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN.value in self.roles

    def has(self, *roles: str) -> bool:
        """True when the user holds any of ``roles`` (admins hold every role)."""
        return self.is_admin or any(r in self.roles for r in roles)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "display_name": self.display_name,
                "roles": list(self.roles), "disabled": self.disabled}


def _to_user(r: AccountRow) -> User:
    return User(id=r.id, name=r.name, roles=[x for x in r.roles.split(",") if x],
                display_name=r.display_name or "", disabled=bool(r.disabled),
                session_version=r.session_version)


def check_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for role in roles:
        for part in str(role).split(","):
            part = part.strip().lower().replace("-", "_")
            if not part:
                continue
            if part not in ROLES:
                raise BadInput(f"unknown role {part!r}", hint=f"roles are: {', '.join(ROLES)}")
            if part not in out:
                out.append(part)
    if not out:
        raise BadInput("an account needs at least one role", hint=f"pick from: {', '.join(ROLES)}")
    return out


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise BadInput(f"the password is shorter than {MIN_PASSWORD} characters",
                       hint=f"choose a password of at least {MIN_PASSWORD} characters")
    return password


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, password: str, roles: list[str] | tuple[str, ...],
               display_name: str = "") -> User:
        if not _NAME.match(name or ""):
            raise BadInput(f"bad account name {name!r}",
                           hint="use 1-64 letters, digits, Chinese characters, '_', '.', '@' or '-'")
        roles_ok = check_roles(roles)
        row = AccountRow(name=name, display_name=display_name or "", roles=",".join(roles_ok),
                         password_hash=_hasher.hash(check_password(password)), disabled=False,
                         session_version=1, created_at=utcnow())
        try:
            with self.db.session() as s:
                s.add(row)
                s.flush()
                return _to_user(row)
        except IntegrityError as exc:
            raise Conflict(f"an account named {name!r} already exists",
                           hint="pick another name, or change that account with `qinglang users set-roles`") from exc

    def _row(self, s: Any, name_or_id: str | int) -> AccountRow:
        if isinstance(name_or_id, int) or str(name_or_id).isdigit() and not s.scalar(
                select(AccountRow.id).where(AccountRow.name == str(name_or_id))):
            row = s.get(AccountRow, int(name_or_id))
        else:
            row = s.scalars(select(AccountRow).where(AccountRow.name == str(name_or_id))).first()
        if row is None:
            raise NotFound(f"no account {name_or_id!r}", hint="list accounts with `qinglang users ls`")
        return row

    def get(self, name_or_id: str | int) -> User:
        with self.db.session() as s:
            return _to_user(self._row(s, name_or_id))

    def by_id(self, user_id: int) -> User | None:
        with self.db.session() as s:
            row = s.get(AccountRow, user_id)
            return _to_user(row) if row else None

    def list(self) -> list[User]:
        with self.db.session() as s:
            return [_to_user(r) for r in s.scalars(select(AccountRow).order_by(AccountRow.name)).all()]

    def count(self) -> int:
        return len(self.list())

    def set_roles(self, name_or_id: str | int, roles: builtins.list[str] | tuple[str, ...]) -> User:
        roles_ok = check_roles(roles)
        with self.db.session() as s:
            row = self._row(s, name_or_id)
            row.roles = ",".join(roles_ok)
            row.session_version += 1
            s.flush()
            return _to_user(row)

    def set_disabled(self, name_or_id: str | int, disabled: bool = True) -> User:
        with self.db.session() as s:
            row = self._row(s, name_or_id)
            row.disabled = disabled
            row.session_version += 1  # signs every session of the account out
            s.flush()
            return _to_user(row)

    def set_password(self, name_or_id: str | int, password: str) -> User:
        with self.db.session() as s:
            row = self._row(s, name_or_id)
            row.password_hash = _hasher.hash(check_password(password))
            row.session_version += 1
            s.flush()
            return _to_user(row)

    def end_sessions(self, name_or_id: str | int) -> None:
        """Sign every session of the account out (sessions carry the version they were issued for)."""
        with self.db.session() as s:
            self._row(s, name_or_id).session_version += 1

    def authenticate(self, name: str, password: str) -> User | None:
        """The account when the password is right and the account enabled, else None."""
        with self.db.session() as s:
            row = s.scalars(select(AccountRow).where(AccountRow.name == name)).first()
            if row is None:
                _hasher.hash(secrets.token_hex(8))  # same work either way: no user enumeration by timing
                return None
            try:
                _hasher.verify(row.password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
            if row.disabled:
                return None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            row.last_login = utcnow()
            s.flush()
            return _to_user(row)

    # -- saved searches ----------------------------------------------------------
    def save_search(self, user_id: int, name: str, query: str) -> dict[str, Any]:
        name = (name or "").strip()[:128]
        if not name:
            raise BadInput("a saved search needs a name", hint="type a name for the search")
        with self.db.session() as s:
            row = SavedSearchRow(user_id=user_id, name=name, query=(query or "").lstrip("?")[:4000],
                                 created_at=utcnow())
            s.add(row)
            s.flush()
            return {"id": row.id, "name": row.name, "query": row.query, "created_at": row.created_at.isoformat()}

    def saved_searches(self, user_id: int) -> builtins.list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(SavedSearchRow).where(SavedSearchRow.user_id == user_id)
                             .order_by(SavedSearchRow.id.desc())).all()
            return [{"id": r.id, "name": r.name, "query": r.query, "created_at": r.created_at.isoformat()}
                    for r in rows]

    def delete_search(self, user_id: int, search_id: int) -> None:
        with self.db.session() as s:
            row = s.get(SavedSearchRow, search_id)
            if row is None or row.user_id != user_id:
                raise NotFound(f"no saved search {search_id}", hint="reload the search page")
            s.delete(row)
