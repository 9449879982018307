"""The content-addressed folder blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.blobs import open_blobs
from core.blobs.folder import FolderBlobStore
from core.errors import BadInput, NotFound


def test_put_get_round_trip_and_content_addressing(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path / "blobs")
    data = b"\x00frame bytes\xff" * 100
    ref = store.put(data, "jpg")
    digest = hashlib.sha256(data).hexdigest()
    assert ref == f"sha256:{digest}.jpg"
    assert store.put(data, "jpg") == ref  # same bytes, same ref
    assert store.get(ref) == data
    assert store.exists(ref)
    path = store.path(ref)
    assert path == tmp_path / "blobs" / digest[:2] / digest[2:4] / f"{digest}.jpg"
    assert path.read_bytes() == data
    assert store.put(b"other", ".WAV").endswith(".wav")
    leftovers = [p for p in (tmp_path / "blobs").rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_open_blobs_by_url_shares_the_folder(tmp_path: Path) -> None:
    a = open_blobs(f"file://{tmp_path / 'b'}")
    ref = a.put(b"abc", "bin")
    assert open_blobs(f"file://{tmp_path / 'b'}").get(ref) == b"abc"


@pytest.mark.parametrize(
    "ref", ["", "sha256:abc.jpg", "md5:" + "0" * 64 + ".jpg", "sha256:" + "0" * 64, "sha256:" + "G" * 64 + ".jpg",
            "sha256:" + "0" * 64 + ".jpg/../../etc"],
)
def test_malformed_refs_are_bad_input(tmp_path: Path, ref: str) -> None:
    store = FolderBlobStore(tmp_path)
    with pytest.raises(BadInput) as info:
        store.get(ref)
    assert info.value.hint
    with pytest.raises(BadInput):
        store.exists(ref)


def test_missing_blob_is_not_found(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path)
    ref = "sha256:" + "0" * 64 + ".jpg"
    assert not store.exists(ref)
    with pytest.raises(NotFound):
        store.get(ref)
    with pytest.raises(NotFound):
        store.path(ref)


def test_bad_put_arguments(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path)
    with pytest.raises(BadInput):
        store.put("text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        store.put(b"x", "../evil")
