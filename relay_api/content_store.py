"""Blobs by content: each object's key is its sha256, so identical bytes are stored once.

The object store clients are blocking (files, boto3), so every call runs in a worker thread.
Which rows name an object, and when it may go, is `blob_index`'s business; this module only
moves bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread

from relay_api.blobstore import BlobStore, FilesystemBlobStore, S3BlobStore

_S3_READ_BYTES = 1024 * 1024


def object_key(sha256: bytes) -> str:
    digest = sha256.hex()
    return f"sha256/{digest[:2]}/{digest}"


class ContentStore:
    def __init__(self, store: BlobStore) -> None:
        self.store = store

    async def put(self, data: bytes) -> bytes:
        """Store `data` (unless an object with its hash exists); return its sha256."""
        digest = hashlib.sha256(data).digest()
        key = object_key(digest)
        if not await anyio.to_thread.run_sync(self.store.exists, key):
            await anyio.to_thread.run_sync(self.store.put, key, data)
        return digest

    async def get(self, sha256: bytes) -> bytes:
        return await anyio.to_thread.run_sync(self.store.get, object_key(sha256))

    async def delete(self, sha256: bytes) -> None:
        await anyio.to_thread.run_sync(self.store.delete, object_key(sha256))

    async def exists(self, sha256: bytes) -> bool:
        return await anyio.to_thread.run_sync(self.store.exists, object_key(sha256))

    def local_path(self, sha256: bytes) -> Path | None:
        """The object's file when the store is a folder (served by offset, not copied)."""
        if isinstance(self.store, FilesystemBlobStore):
            return self.store.path(object_key(sha256))
        return None

    def presigned_url(self, sha256: bytes, expires_s: int) -> str | None:
        if isinstance(self.store, S3BlobStore) and expires_s > 0:
            return self.store.presigned_url(object_key(sha256), expires_s)
        return None

    async def stream(
        self, sha256: bytes, start: int, end: int, chunk_bytes: int = 4 * 1024 * 1024
    ) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the object, in pieces of `chunk_bytes` (large: each piece
        costs a thread hop and a write)."""
        if start >= end:
            return
        path = self.local_path(sha256)
        if path is not None:
            async for chunk in _file_chunks(path, start, end, chunk_bytes):
                yield chunk
            return
        if not isinstance(self.store, S3BlobStore):
            data = await self.get(sha256)
            yield data[start:end]
            return
        body = await anyio.to_thread.run_sync(self.store.get_range, object_key(sha256), start, end)
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, _S3_READ_BYTES):
                yield chunk
        finally:
            body.close()


async def _file_chunks(
    path: Path, start: int, end: int, chunk: int = 8 * 1024 * 1024
) -> AsyncIterator[bytes]:
    f = await anyio.to_thread.run_sync(path.open, "rb")
    try:
        position = start
        while position < end:
            piece = await anyio.to_thread.run_sync(
                os.pread, f.fileno(), min(chunk, end - position), position
            )
            if not piece:
                break
            position += len(piece)
            yield piece
    finally:
        f.close()
