"""Alembic environment shared by every package's version folder."""

from __future__ import annotations

from alembic import context

from core.db import make_engine
from core.errors import ConfigError

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise ConfigError("the migrations have no database url", hint="apply them with core.db.migrate(url, folders)")
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
