"""The retention job deletes ended tasks' blobs, metadata and object together."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from relay_api.blob_index import BlobIndex, BlobKind
from relay_api.blobstore import S3BlobStore
from relay_api.content_store import ContentStore, object_key
from relay_api.retention import Retention

CHAIN = 31337


def test_blobs_of_tasks_ended_before_the_retention_go_with_their_objects(
    pg_dsn: str, s3_store: S3BlobStore, db
) -> None:
    old_end = datetime.now(UTC) - timedelta(hours=2)
    for task_id, ended in (("8000001", old_end), ("8000002", datetime.now(UTC)), ("8000003", None)):
        db.execute(
            "INSERT INTO tasks (chain_id, task_id, status, version, ended_at) VALUES (%s, %s, %s, 1, %s)",
            (CHAIN, task_id, "Completed" if ended else "Running", ended),
        )

    async def scenario() -> tuple[int, int]:
        async with AsyncConnectionPool(pg_dsn, min_size=1, max_size=2, open=False) as pool:
            blobs = BlobIndex(pool, ContentStore(s3_store), max_age_s=3600)
            for task_id in ("8000001", "8000002", "8000003"):
                await blobs.store(chain_id=CHAIN, task_id=task_id, kind=BlobKind.ARGS, node="", index=0,
                                  owner="0xabc", data=f"args of {task_id}".encode(), content_type="application/json")  # fmt: skip
            # The same bytes under a live task: the object must stay for it.
            await blobs.store(chain_id=CHAIN, task_id="8000003", kind=BlobKind.STAGED, node="0xn", index=0,
                              owner="0xn", data=b"args of 8000001", content_type="image/png")  # fmt: skip
            swept = await Retention(pool, blobs, CHAIN, retention_s=3600).sweep()
            return swept.rows, swept.objects

    rows, objects = asyncio.run(scenario())
    assert (rows, objects) == (1, 0)
    left = db.execute("SELECT task_id, kind FROM relay_blobs ORDER BY task_id, kind").fetchall()
    assert left == [("8000002", "args"), ("8000003", "args"), ("8000003", "staged")]
    assert s3_store.exists(object_key(hashlib.sha256(b"args of 8000001").digest()))

    db.execute("DELETE FROM relay_blobs WHERE task_id = '8000003'")

    async def again() -> int:
        async with AsyncConnectionPool(pg_dsn, min_size=1, max_size=2, open=False) as pool:
            blobs = BlobIndex(pool, ContentStore(s3_store), max_age_s=3600)
            return await blobs.collect([hashlib.sha256(b"args of 8000001").digest()])

    assert asyncio.run(again()) == 1
    assert not s3_store.exists(object_key(hashlib.sha256(b"args of 8000001").digest()))


def test_expired_blobs_and_signatures_go(pg_dsn: str, s3_store: S3BlobStore, db) -> None:
    async def scenario() -> tuple[int, int, int]:
        async with AsyncConnectionPool(pg_dsn, min_size=1, max_size=2, open=False) as pool:
            blobs = BlobIndex(pool, ContentStore(s3_store), max_age_s=3600)
            await blobs.store(chain_id=CHAIN, task_id="8100001", kind=BlobKind.ARGS, node="", index=0,
                                       owner="0xabc", data=b"expiring", content_type="application/json")  # fmt: skip
            async with pool.connection() as conn:
                await conn.execute("UPDATE relay_blobs SET expires_at = now() - interval '1 s'")
                await conn.execute(
                    "INSERT INTO relay_used_signatures VALUES (%s, '0xabc', now() - interval '1 s')",
                    (b"\x01" * 65,),
                )
            swept = await Retention(pool, blobs, CHAIN, retention_s=3600).sweep()
            return swept.rows, swept.objects, swept.signatures

    assert asyncio.run(scenario()) == (1, 1, 1)
    assert db.execute("SELECT count(*) FROM relay_blobs").fetchone() == (0,)
