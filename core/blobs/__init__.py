"""Blob store (claim check). ``open_blobs(url)``: ``file:///folder``."""

from __future__ import annotations

from core.blobs.base import BlobStore
from core.errors import ConfigError


def open_blobs(url: str) -> BlobStore:
    scheme, _, rest = url.partition("://")
    if scheme in ("file", "embedded"):
        from core.blobs.folder import FolderBlobStore

        return FolderBlobStore(rest)
    raise ConfigError(f"unknown blobs URL {url!r}", hint="use file:///path/to/folder")


__all__ = ["BlobStore", "open_blobs"]
