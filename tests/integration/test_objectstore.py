"""Object storage: the filesystem store and S3 (a real SeaweedFS) behave the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hydrogen.devnet.objectstore import BUCKET, SeaweedS3
from relay_api.blobstore import (
    BlobNotFoundError,
    BlobStore,
    BlobStoreError,
    FilesystemBlobStore,
    InvalidKeyError,
    S3BlobStore,
)


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    return request.getfixturevalue("s3_store")


def test_put_get_delete_round_trip(store: BlobStore) -> None:
    data = os.urandom(256 * 1024)
    key = f"tasks/{os.urandom(4).hex()}/result-0.png"
    store.put(key, data)
    assert store.exists(key)
    assert store.get(key) == data
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(BlobNotFoundError):
        store.get(key)


def test_a_put_overwrites_the_previous_blob(store: BlobStore) -> None:
    key = f"args/{os.urandom(4).hex()}.json"
    store.put(key, b"first")
    store.put(key, b"second")
    assert store.get(key) == b"second"


@pytest.mark.parametrize(
    "key", ["../escape", "/abs", "a//b", "a/./b", "", "a/b/", "sp ace", "a\\b"]
)
def test_keys_that_could_escape_the_store_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKeyError, match="invalid blob key"):
        store.put(key, b"x")


def test_filesystem_store_writes_nothing_outside_its_root(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "root")
    with pytest.raises(InvalidKeyError):
        store.put("../outside", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


def test_seaweedfs_rejects_a_wrong_secret_key_and_stores_nothing(
    s3_service: SeaweedS3, s3_store: S3BlobStore
) -> None:
    creds = s3_service.credentials()
    intruder = S3BlobStore(s3_service.address, BUCKET, creds.access_key, "not-" + creds.secret_key)
    with pytest.raises(BlobStoreError, match="SignatureDoesNotMatch"):
        intruder.put("intruder.txt", b"x")
    with pytest.raises(BlobStoreError, match="SignatureDoesNotMatch"):
        intruder.get("intruder.txt")
    assert not s3_store.exists("intruder.txt")
