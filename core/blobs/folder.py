"""Content-addressed blob store in a local folder.

A blob's ref is ``sha256:<64 hex>.<ext>``; it lives at
``<root>/<hex[0:2]>/<hex[2:4]>/<hex>.<ext>``. Writes go to a temporary file in
the same folder and are renamed into place, so a reader never sees half a blob
and two writers of the same bytes both succeed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from core.blobs.base import BlobStore
from core.errors import BadInput, ConfigError, NotFound

_REF = re.compile(r"^sha256:([0-9a-f]{64})\.([a-z0-9]{1,10})$")
_EXT = re.compile(r"^[a-z0-9]{1,10}$")


class FolderBlobStore(BlobStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create blob folder {self.root}: {exc.strerror}",
                hint="set QINGLANG_BLOBS (file:///path) or QINGLANG_DATA_DIR to a writable folder",
            ) from exc

    # -- refs --------------------------------------------------------------
    @staticmethod
    def _parse(ref: str) -> tuple[str, str]:
        m = _REF.match(ref) if isinstance(ref, str) else None
        if not m:
            raise BadInput(
                f"malformed blob ref {ref!r}",
                hint="a blob ref looks like sha256:<64 lowercase hex>.<ext>, as returned by put()",
            )
        return m.group(1), m.group(2)

    def _file(self, digest: str, ext: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / f"{digest}.{ext}"

    # -- BlobStore ---------------------------------------------------------
    def put(self, data: bytes, ext: str = "bin") -> str:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise BadInput(f"blob data must be bytes, not {type(data).__name__}", hint="encode the data first")
        ext = (ext or "bin").lower().lstrip(".")
        if not _EXT.match(ext):
            raise BadInput(f"bad blob extension {ext!r}", hint="use 1-10 lowercase letters or digits, e.g. jpg")
        data = bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        target = self._file(digest, ext)
        if target.exists():
            return f"sha256:{digest}.{ext}"
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return f"sha256:{digest}.{ext}"

    def get(self, ref: str) -> bytes:
        path = self.path(ref)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:  # removed between path() and read
            raise NotFound(f"blob {ref} not found", hint="the blob folder may have been cleaned") from exc

    def exists(self, ref: str) -> bool:
        digest, ext = self._parse(ref)
        return self._file(digest, ext).is_file()

    def path(self, ref: str) -> Path:
        digest, ext = self._parse(ref)
        p = self._file(digest, ext)
        if not p.is_file():
            raise NotFound(
                f"blob {ref} not found under {self.root}",
                hint="check QINGLANG_DATA_DIR / QINGLANG_BLOBS point at the folder the blob was written to",
            )
        return p
