"""Blob metadata in Postgres (`relay_blobs`), kept in step with the content store.

Bytes are stored under their sha256 and may be shared by several rows, so writing and
deleting serialize on a transaction-scoped advisory lock per sha256: an upload that reuses an
object cannot lose it to a concurrent garbage collection of the same object, and an object
goes only when no row names it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool

from relay_api.content_store import ContentStore


class BlobKind(StrEnum):
    ARGS = "args"
    STAGED = "staged"  # a node's images, not yet checked
    RESULT = "result"  # the delivering node's images, checked against the validated hashes


@dataclass(frozen=True)
class BlobRow:
    id: int
    chain_id: int
    task_id: str
    kind: str
    node: str
    image_index: int
    owner: str
    sha256: bytes
    size: int
    content_type: str
    created_at: datetime
    expires_at: datetime

    @property
    def etag(self) -> str:
        return f'"{self.sha256.hex()}"'


BLOB_COLUMNS = (
    "id", "chain_id", "task_id", "kind", "node", "image_index", "owner", "sha256", "size",
    "content_type", "created_at", "expires_at",
)  # fmt: skip
_COLUMNS = ", ".join(BLOB_COLUMNS)


def _lock_id(sha256: bytes) -> int:
    return int.from_bytes(sha256[:8], "big", signed=True)


class BlobIndex:
    def __init__(
        self, pool: AsyncConnectionPool[Any], content: ContentStore, max_age_s: int
    ) -> None:
        self.pool = pool
        self.content = content
        self.max_age = timedelta(seconds=max_age_s)

    async def store(
        self,
        *,
        chain_id: int,
        task_id: str,
        kind: BlobKind,
        node: str,
        index: int,
        owner: str,
        data: bytes,
        content_type: str,
    ) -> tuple[BlobRow, bool]:
        """Store `data` and its row (replacing the row in the same place); return the row and
        whether anything changed."""
        digest = hashlib.sha256(data).digest()
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id(digest),))
            existing = await _find(conn, chain_id, task_id, kind, node, index)
            if existing is not None and existing.sha256 == digest:
                return existing, False
            await self.content.put(data)
            async with conn.cursor(row_factory=class_row(BlobRow)) as cur:
                await cur.execute(
                    f"""INSERT INTO relay_blobs
                            (chain_id, task_id, kind, node, image_index, owner, sha256, size,
                             content_type, expires_at)
                        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + %s)
                        ON CONFLICT (chain_id, task_id, kind, node, image_index) DO UPDATE
                           SET owner = EXCLUDED.owner, sha256 = EXCLUDED.sha256,
                               size = EXCLUDED.size, content_type = EXCLUDED.content_type,
                               created_at = now(), expires_at = EXCLUDED.expires_at
                        RETURNING {_COLUMNS}""",  # noqa: S608
                    (
                        chain_id,
                        task_id,
                        str(kind),
                        node,
                        index,
                        owner,
                        digest,
                        len(data),
                        content_type,
                        self.max_age,
                    ),
                )
                row = await cur.fetchone()
        assert row is not None
        if existing is not None:
            await self.collect([existing.sha256])
        return row, True

    async def find(
        self, chain_id: int, task_id: str, kind: BlobKind, node: str = "", index: int = 0
    ) -> BlobRow | None:
        async with self.pool.connection() as conn:
            return await _find(conn, chain_id, task_id, kind, node, index)

    async def of_task(
        self, chain_id: int, task_id: str, kind: BlobKind, node: str | None = None
    ) -> list[BlobRow]:
        async with (
            self.pool.connection() as conn,
            conn.cursor(row_factory=class_row(BlobRow)) as cur,
        ):
            await cur.execute(
                f"""SELECT {_COLUMNS} FROM relay_blobs
                     WHERE chain_id = %s AND task_id = %s AND kind = %s
                       AND (%s::text IS NULL OR node = %s)
                     ORDER BY node, image_index""",  # noqa: S608
                (chain_id, task_id, str(kind), node, node),
            )
            rows: list[BlobRow] = await cur.fetchall()
            return rows

    async def delete_rows(
        self, conn: AsyncConnection[Any], where: str, params: tuple[Any, ...]
    ) -> list[bytes]:
        """Delete the rows matching `where` (a fixed SQL condition of ours) in the caller's
        transaction; return the sha256 of each, for `collect` after the commit."""
        cur = await conn.execute(
            f"DELETE FROM relay_blobs WHERE {where} RETURNING sha256",  # noqa: S608
            params,
        )
        return [bytes(r[0]) for r in await cur.fetchall()]

    async def collect(self, digests: list[bytes]) -> int:
        """Delete each object no row names any more; return how many went."""
        deleted = 0
        for digest in sorted(set(digests)):
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id(digest),))
                cur = await conn.execute(
                    "SELECT 1 FROM relay_blobs WHERE sha256 = %s LIMIT 1", (digest,)
                )
                if await cur.fetchone() is None:
                    await self.content.delete(digest)
                    deleted += 1
        return deleted


async def _find(
    conn: AsyncConnection[Any], chain_id: int, task_id: str, kind: BlobKind, node: str, index: int
) -> BlobRow | None:
    async with conn.cursor(row_factory=class_row(BlobRow)) as cur:
        await cur.execute(
            f"""SELECT {_COLUMNS} FROM relay_blobs
                 WHERE chain_id = %s AND task_id = %s AND kind = %s AND node = %s
                   AND image_index = %s""",  # noqa: S608
            (chain_id, task_id, str(kind), node, index),
        )
        return await cur.fetchone()
