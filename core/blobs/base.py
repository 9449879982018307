from __future__ import annotations

import abc
from pathlib import Path


class BlobStore(abc.ABC):
    """Content-addressed: ``put`` returns ``sha256:<hex>.<ext>``; same bytes, same ref."""

    @abc.abstractmethod
    def put(self, data: bytes, ext: str = "bin") -> str: ...

    @abc.abstractmethod
    def get(self, ref: str) -> bytes: ...

    @abc.abstractmethod
    def exists(self, ref: str) -> bool: ...

    @abc.abstractmethod
    def path(self, ref: str) -> Path:
        """Local file path for a ref (for decoders that want a file)."""
