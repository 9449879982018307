"""SQLAlchemy engine/session factory and Alembic migrations.

Each package that owns tables keeps its own Alembic version folder
(``<package>/migrations``) with its own branch label; ``migrate(url, locations)``
runs ``alembic upgrade heads`` over all of them. SQLite by default,
PostgreSQL in production: the same migrations serve both.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from core.errors import DatabaseUnavailable

_MIGRATIONS_ENV = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base shared by every package's tables."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: commits on success, rolls back on error."""
        s = self.sessionmaker()
        try:
            yield s
            s.commit()
        except OperationalError as exc:
            s.rollback()
            raise DatabaseUnavailable(
                f"database {self.engine.url.render_as_string(hide_password=True)} failed: {exc.orig}",
                hint="check that the database is running and QINGLANG_DB is right",
            ) from exc
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()


def migrate(url: str, version_locations: Sequence[Path], revision: str = "heads") -> None:
    """Apply every package's migrations (``alembic upgrade heads``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS_ENV))
    cfg.set_main_option("version_locations", " ".join(str(p) for p in version_locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["url"] = url
    try:
        command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot migrate database: {exc.orig}",
            hint="check that the database is running and QINGLANG_DB is right",
        ) from exc
