"""One settings object: defaults < TOML file (``QINGLANG_CONFIG``) < environment.

Environment variables are ``QINGLANG_<FIELD>`` (for example ``QINGLANG_BUS``).
Adapter URLs pick the implementation by scheme:

- ``bus``:   ``embedded:///path/bus.db`` or ``kafka://host:port``
- ``index``: ``embedded:///path/index.db`` or ``elasticsearch://host:port``
- ``db``:    any SQLAlchemy URL (``sqlite:///…``, ``postgresql+psycopg://…``)
- ``blobs``: ``file:///path`` (a content-addressed folder)

An empty adapter URL means "the embedded default inside ``data_dir``".
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from core.errors import ConfigError


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML file named by QINGLANG_CONFIG (top-level keys = fields)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("QINGLANG_CONFIG")
        if not path:
            return {}
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"config file {p} (from QINGLANG_CONFIG) does not exist",
                hint="point QINGLANG_CONFIG at a TOML file or unset it",
            )
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}", hint="fix the file") from exc
        # Allow a [qinglang] table or top-level keys.
        return dict(data.get("qinglang", data))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QINGLANG_", extra="allow")

    data_dir: Path = Path("./var")
    bus: str = ""
    index: str = ""
    db: str = ""
    blobs: str = ""

    # console
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""  # generated into data_dir when empty
    cookie_secure: bool = False
    language: str = "zh-CN"
    max_upload_bytes: int = 20 * 1024 * 1024
    public_rate_limit_per_minute: int = 10

    # pipeline
    alert_window_seconds: int = 600
    max_record_bytes: int = 1024 * 1024
    kafka_partitions: int = 4
    elasticsearch_alias: str = "qinglang-hits"

    # models (offline folders first)
    asr_model: str = "base"
    asr_language: str = "zh"
    asr_compute_type: str = "int8"

    # the demo and `qinglang up` read sources from here (TOML list of tables)
    sources: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    # -- resolved adapter URLs -------------------------------------------------
    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def bus_url(self) -> str:
        return self.bus or f"embedded://{self.data_path / 'bus.db'}"

    @property
    def index_url(self) -> str:
        return self.index or f"embedded://{self.data_path / 'index.db'}"

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.data_path / 'qinglang.db'}"

    @property
    def blobs_url(self) -> str:
        return self.blobs or f"file://{self.data_path / 'blobs'}"

    def ensure_data_dir(self) -> Path:
        path = self.data_path
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create data directory {path}: {exc.strerror}",
                hint="set QINGLANG_DATA_DIR to a writable folder",
            ) from exc
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
