"""Fixtures shared by the test packages.

``migrated_services``: ``core.services.Services`` over a fresh data dir
(``tmp_path``, also set as QINGLANG_DATA_DIR; QINGLANG_CONFIG unset) whose
database has every package's migrations applied; closed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.services import Services
from core.settings import Settings, reset_settings_cache
from qinglang.wiring import migrate_all


@pytest.fixture
def migrated_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("QINGLANG_CONFIG", raising=False)
    reset_settings_cache()
    settings = Settings(data_dir=tmp_path)
    settings.ensure_data_dir()
    migrate_all(settings.db_url)
    svc = Services(settings)
    yield svc
    svc.close()
    reset_settings_cache()
