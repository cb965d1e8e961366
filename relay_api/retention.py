"""The retention job: blobs of ended tasks go `retention_s` after the end, any blob at its
expiry; metadata and object together. Used signatures past their expiry go too."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from relay_api.blob_index import BlobIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    rows: int
    objects: int
    signatures: int


class Retention:
    def __init__(
        self, pool: AsyncConnectionPool[Any], blobs: BlobIndex, chain_id: int, retention_s: int
    ) -> None:
        self.pool = pool
        self.blobs = blobs
        self.chain_id = chain_id
        self.retention = timedelta(seconds=retention_s)

    async def sweep(self) -> Swept:
        async with self.pool.connection() as conn, conn.transaction():
            ended = await self.blobs.delete_rows(
                conn,
                """chain_id = %s AND task_id IN (
                       SELECT task_id FROM tasks
                        WHERE chain_id = %s AND ended_at IS NOT NULL AND ended_at < now() - %s)""",
                (self.chain_id, self.chain_id, self.retention),
            )
            expired = await self.blobs.delete_rows(conn, "expires_at < now()", ())
            cur = await conn.execute("DELETE FROM relay_used_signatures WHERE expires_at < now()")
            signatures = cur.rowcount
        digests = ended + expired
        objects = await self.blobs.collect(digests)
        if digests or signatures:
            log.info(
                "retention: %d blob row(s), %d object(s), %d used signature(s) deleted",
                len(digests), objects, signatures,
            )  # fmt: skip
        return Swept(len(digests), objects, signatures)
