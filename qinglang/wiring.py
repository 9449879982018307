"""Wiring of roles: which migrations exist, how to open everything a role needs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.services import Services

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


def wire(services: Services) -> Services:
    """Connect the roles' hooks: complaints → ingest (targeted monitoring), case events → bus."""
    import logging

    from core.errors import NotFound

    log = logging.getLogger("qinglang.wiring")

    def on_monitoring_request(source: str, until: datetime, reason: str) -> None:
        from ingest.registry import SourceRegistry

        registry = SourceRegistry(services.db)
        try:
            registry.boost(source_id=source, factor=4.0, until=until, reason=f"complaint: {reason}")
        except NotFound:
            # the complaint named something that is not a registered source: boost by tag instead
            registry.boost(tag=source, factor=4.0, until=until, reason=f"complaint: {reason}")
            log.warning("targeted monitoring of %r: no such source id; boosting sources tagged %r", source, source)

    services.extras.setdefault("on_monitoring_request", on_monitoring_request)
    return services


def escalate_overdue(services: Services) -> int:
    """Escalate passed complaint deadlines to supervisors; returns how many were escalated."""
    from complaints.service import CaseService

    return len(CaseService(services.db, services.blobs, actor="system").escalate_overdue())
