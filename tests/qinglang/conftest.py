"""Fixtures of the CLI tests.

``data_dir``: a fresh QINGLANG_DATA_DIR (``tmp_path / "data"``), with no other
setting of the developer's shell leaking in; the settings cache is reset on
entry and exit. Modules whose every test needs it say
``pytestmark = pytest.mark.usefixtures("data_dir")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import reset_settings_cache

# Settings that would point a command at something other than the temporary data dir.
CLEARED = ("QINGLANG_CONFIG", "QINGLANG_DB", "QINGLANG_BUS", "QINGLANG_INDEX", "QINGLANG_USER", "QINGLANG_ROLES")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path / "data"))
    reset_settings_cache()
    yield tmp_path / "data"
    reset_settings_cache()
