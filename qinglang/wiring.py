"""Wiring of roles: which migrations exist, how to open everything a role needs."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent

# Every package that owns tables keeps its Alembic version files here.
MIGRATION_FOLDERS: list[Path] = [
    _ROOT / "core" / "versions",
    _ROOT / "detectors" / "fingerprint" / "migrations",
    _ROOT / "complaints" / "migrations",
    _ROOT / "console" / "migrations",
    _ROOT / "ingest" / "migrations",
    _ROOT / "detectors" / "lists" / "migrations",
]


def migrate_all(db_url: str) -> None:
    from core.db import migrate

    migrate(db_url, [p for p in MIGRATION_FOLDERS if p.is_dir()])
