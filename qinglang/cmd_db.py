"""`qinglang db`: apply and inspect the Alembic migrations of every package."""

from __future__ import annotations

import json
from typing import Annotated, TypedDict

import typer
from rich.console import Console

app = typer.Typer(
    help="Database schema: apply migrations, show their state.\n\nExample:\n\n    qinglang db upgrade",
    no_args_is_help=True,
)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url


class MigrationStatus(TypedDict):
    db: str  # the url, password hidden
    current: list[str]  # revisions applied in the database
    heads: list[str]  # head revisions of the migration folders
    up_to_date: bool
    folders: list[str]


def migration_status(db_url: str) -> MigrationStatus:
    """Applied revisions in the database versus the heads of every migration folder."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import OperationalError

    from core import db as core_db
    from core.errors import DatabaseUnavailable
    from qinglang.wiring import MIGRATION_FOLDERS

    folders = [p for p in MIGRATION_FOLDERS if p.is_dir()]
    cfg = Config()
    cfg.set_main_option("script_location", str(core_db._MIGRATIONS_ENV))
    cfg.set_main_option("version_locations", " ".join(str(p) for p in folders))
    cfg.set_main_option("path_separator", "space")
    heads = sorted(ScriptDirectory.from_config(cfg).get_heads())
    engine = core_db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            current = sorted(MigrationContext.configure(conn).get_current_heads())
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot read the migration state of {_safe_url(db_url)}: {exc.orig}",
            hint="check that the database is running and QINGLANG_DB is right",
        ) from exc
    finally:
        engine.dispose()
    return {
        "db": _safe_url(db_url),
        "current": current,
        "heads": heads,
        "up_to_date": set(current) == set(heads),
        "folders": [str(p) for p in folders],
    }


@app.command()
def upgrade() -> None:
    """Apply every pending migration of every package (alembic upgrade heads).

    Example:

        QINGLANG_DB=postgresql+psycopg://qinglang:qinglang@127.0.0.1:5432/qinglang qinglang db upgrade
    """
    from core.settings import get_settings
    from qinglang.wiring import migrate_all

    settings = get_settings()
    settings.ensure_data_dir()
    console = Console(stderr=True)
    with console.status("applying migrations…"):
        migrate_all(settings.db_url)
    state = migration_status(settings.db_url)
    console.print(f"[green]database {state['db']} is at[/] {', '.join(state['current']) or '(empty)'}")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False) -> None:
    """Show applied revisions and whether migrations are pending.

    Example:

        qinglang db status --json
    """
    from core.settings import get_settings

    settings = get_settings()
    settings.ensure_data_dir()
    state = migration_status(settings.db_url)
    if as_json:
        typer.echo(json.dumps(state, ensure_ascii=False))
        return
    console = Console()
    console.print(f"database: {state['db']}")
    console.print(f"applied:  {', '.join(state['current']) or '(nothing)'}")
    console.print(f"heads:    {', '.join(state['heads']) or '(no migrations)'}")
    if state["up_to_date"]:
        console.print("[green]up to date[/]")
    else:
        console.print("[yellow]migrations pending:[/] run `qinglang db upgrade`")
