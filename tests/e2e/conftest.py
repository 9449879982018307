from __future__ import annotations

from pathlib import Path

import pytest

from core.services import Services
from core.settings import Settings, reset_settings_cache


def make_services(data_dir: Path) -> Services:
    reset_settings_cache()
    return Services(Settings(data_dir=data_dir))


@pytest.fixture
def demo_env(tmp_path, monkeypatch):
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path / "var"))
    reset_settings_cache()
    yield tmp_path / "var"
    reset_settings_cache()
