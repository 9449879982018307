"""Settings: defaults < TOML (QINGLANG_CONFIG) < environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings, get_settings, reset_settings_cache


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("QINGLANG_CONFIG", "QINGLANG_BUS", "QINGLANG_INDEX", "QINGLANG_DB", "QINGLANG_BLOBS",
                 "QINGLANG_PORT", "QINGLANG_MAX_RECORD_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path / "data"))
    reset_settings_cache()
    yield
    reset_settings_cache()


def test_defaults_put_every_adapter_in_the_data_dir(tmp_path: Path) -> None:
    s = get_settings()
    data = (tmp_path / "data").resolve()
    assert s.data_path == data
    assert s.bus_url == f"embedded://{data / 'bus.db'}"
    assert s.index_url == f"embedded://{data / 'index.db'}"
    assert s.db_url == f"sqlite:///{data / 'qinglang.db'}"
    assert s.blobs_url == f"file://{data / 'blobs'}"
    assert s.port == 8000 and s.max_record_bytes == 1024 * 1024
    assert get_settings() is s


def test_toml_file_and_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "q.toml"
    cfg.write_text('port = 9100\nbus = "kafka://10.0.0.1:9092"\n[[sources]]\nid = "s1"\n', encoding="utf-8")
    monkeypatch.setenv("QINGLANG_CONFIG", str(cfg))
    reset_settings_cache()
    s = get_settings()
    assert s.port == 9100 and s.bus_url == "kafka://10.0.0.1:9092"
    assert s.sources == [{"id": "s1"}]
    monkeypatch.setenv("QINGLANG_PORT", "9200")
    reset_settings_cache()
    assert get_settings().port == 9200  # environment beats the file
    assert get_settings().bus_url == "kafka://10.0.0.1:9092"


def test_qinglang_table_in_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "q.toml"
    cfg.write_text('[qinglang]\nalert_window_seconds = 60\n', encoding="utf-8")
    monkeypatch.setenv("QINGLANG_CONFIG", str(cfg))
    assert Settings().alert_window_seconds == 60


def test_bad_or_missing_toml_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 3\n", encoding="utf-8")
    monkeypatch.setenv("QINGLANG_CONFIG", str(bad))
    with pytest.raises(ConfigError) as info:
        Settings()
    assert "bad.toml" in info.value.message and info.value.hint
    monkeypatch.setenv("QINGLANG_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError):
        Settings()


def test_unwritable_data_dir_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(blocker / "sub"))
    with pytest.raises(ConfigError):
        Settings().ensure_data_dir()
