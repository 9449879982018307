"""The adapters of one process, opened once from Settings (a small container)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from core.blobs import BlobStore, open_blobs
from core.bus import Bus, open_bus
from core.db import Database
from core.index import HitIndex, open_index
from core.settings import Settings


@dataclass
class Services:
    settings: Settings
    extras: dict[str, Any] = field(default_factory=dict)  # role-specific singletons

    @cached_property
    def db(self) -> Database:
        self.settings.ensure_data_dir()
        return Database(self.settings.db_url)

    @cached_property
    def bus(self) -> Bus:
        self.settings.ensure_data_dir()
        return open_bus(self.settings.bus_url)

    @cached_property
    def index(self) -> HitIndex:
        self.settings.ensure_data_dir()
        return open_index(self.settings.index_url)

    @cached_property
    def blobs(self) -> BlobStore:
        self.settings.ensure_data_dir()
        return open_blobs(self.settings.blobs_url)

    def close(self) -> None:
        for name in ("bus", "index", "db"):
            obj = self.__dict__.get(name)
            if obj is not None:
                (obj.dispose if name == "db" else obj.close)()
