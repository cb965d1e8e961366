"""Object storage behind one small interface: a local folder, or any S3-compatible service.

Keys are relative, slash-separated paths of `[A-Za-z0-9._-]` segments; anything that could
escape the store's root (`..`, a leading `/`, empty segments) is refused before any I/O.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


class BlobStoreError(RuntimeError):
    """The object store refused or failed an operation."""


class BlobNotFoundError(BlobStoreError, KeyError):
    """No blob under that key."""


class InvalidKeyError(BlobStoreError, ValueError):
    """A key that is not a plain relative path."""


def check_key(key: str) -> str:
    segments = key.split("/")
    if not key or any(s in ("", ".", "..") or not _SEGMENT.match(s) for s in segments):
        raise InvalidKeyError(
            f"invalid blob key {key!r}: use '/'-separated segments of letters, digits, '.', '_', '-'"
        )
    return key


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


class FilesystemBlobStore:
    """Blobs as files under `root`; a put is atomic (written aside, then renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def path(self, key: str) -> Path:
        """Where the blob's file is, for serving it without reading it through Python."""
        return self._path(key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3BlobStore:
    """Blobs as objects in one bucket of an S3-compatible service (AWS S3, SeaweedFS, MinIO)."""

    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
    ) -> None:
        self.bucket = bucket
        self._s3: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            # SigV4 for presigned URLs too (botocore would presign with the legacy SigV2,
            # which AWS refuses in newer regions).
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                signature_version="s3v4",
            ),
        )

    def _call(self, op: str, key: str | None = None, **kwargs: Any) -> Any:
        try:
            return getattr(self._s3, op)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound") and key is not None:
                raise BlobNotFoundError(key) from exc
            raise BlobStoreError(
                f"S3 {op} on bucket {self.bucket!r} failed: {code or exc}"
            ) from exc

    def ensure_bucket(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._call("create_bucket")

    def put(self, key: str, data: bytes) -> None:
        self._call("put_object", key, Key=check_key(key), Body=data)

    def get(self, key: str) -> bytes:
        data: bytes = self._call("get_object", key, Key=check_key(key))["Body"].read()
        return data

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key, Key=check_key(key))
        except BlobNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete_object", key, Key=check_key(key))

    def get_range(self, key: str, start: int, end: int) -> Any:
        """A streaming body of bytes [start, end) of the blob (botocore's StreamingBody)."""
        if not 0 <= start < end:
            raise ValueError(f"empty or negative range [{start}, {end})")
        response = self._call(
            "get_object", key, Key=check_key(key), Range=f"bytes={start}-{end - 1}"
        )
        return response["Body"]

    def presigned_url(self, key: str, expires_s: int) -> str:
        """A URL anyone may GET the blob from for `expires_s` seconds."""
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": check_key(key)},
            ExpiresIn=expires_s,
        )
        return url
