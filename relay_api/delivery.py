"""Delivery: the result node's staged images, checked against the validated result, become
the task's result, and the relay asks the chain to confirm the upload.

An SD result is the images' 8-byte p-hashes, concatenated; each staged image must hash
(`schemas.phash`, the nodes' own implementation) within the contract's threshold of its
p-hash. An LLM result is the sha256 of the output, so its one blob must hash to it exactly.

Once every image checks out, in this order:
1. the `confirmUpload` tx request goes to `chain.tx-requests` (a deterministic id, so doing
   it again after a crash sends nothing twice);
2. one Postgres transaction records the delivery, turns the node's staged rows into result
   rows, and deletes every other node's staged rows; their objects go after the commit.
Only a recorded delivery lets the creator download.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from relay_api.blob_index import BLOB_COLUMNS, BlobIndex, BlobKind, BlobRow
from relay_api.chain_reader import ChainReader
from relay_api.task_facts import TaskFacts
from relay_api.tx_requests import TxRequester, confirm_upload_request_id, now_ms, tx_record
from schemas.phash import hamming, phash_png, split_result

log = logging.getLogger(__name__)

PHASH_BYTES = 8


@dataclass(frozen=True)
class ImageMismatch:
    index: int
    reason: str


def expected_count(task_type: str, result: bytes) -> int:
    return len(result) // PHASH_BYTES if task_type == "SD" else 1


def check_image(
    task_type: str, result: bytes, index: int, data: bytes, threshold: int
) -> ImageMismatch | None:
    """Whether blob `index` matches the validated `result`; None when it does."""
    count = expected_count(task_type, result)
    if index >= count:
        return ImageMismatch(index, f"the validated result has {count} image(s), no index {index}")
    if task_type != "SD":
        digest = hashlib.sha256(data).digest()
        if digest != result:
            return ImageMismatch(
                index, f"sha256 {digest.hex()} differs from the validated result {result.hex()}"
            )
        return None
    expected = split_result(result)[index]
    try:
        actual = phash_png(data)
    except Exception as exc:  # PIL raises a handful of types for a file that is no image
        return ImageMismatch(index, f"not a readable PNG image: {exc}")
    distance = hamming(actual, expected)
    if distance > threshold:
        return ImageMismatch(
            index,
            f"p-hash {actual.hex()} is {distance} bits from the validated {expected.hex()} "
            f"(at most {threshold} allowed)",
        )
    return None


class Deliveries:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        blobs: BlobIndex,
        chain: ChainReader,
        requester: TxRequester,
        relay_address: str,
    ) -> None:
        self.pool = pool
        self.blobs = blobs
        self.chain = chain
        self.requester = requester
        self.relay_address = relay_address
        self.chain_id = chain.deployment.chain_id

    async def delivered(self, task_id: str) -> tuple[str, int] | None:
        """The node that delivered a task and how many images; None if not delivered."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT node, images FROM relay_deliveries WHERE chain_id = %s AND task_id = %s",
                (self.chain_id, task_id),
            )
            row = await cur.fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    async def delivered_image(self, task_id: str, index: int) -> tuple[int, BlobRow | None] | None:
        """For a delivered task: its image count and the row of image `index` (None once
        deleted); None if the task is not delivered. One query: downloads are hot."""
        async with (
            self.pool.connection() as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(
                f"""SELECT d.images, {", ".join("b." + c for c in BLOB_COLUMNS)}
                      FROM relay_deliveries d
                      LEFT JOIN relay_blobs b
                        ON b.chain_id = d.chain_id AND b.task_id = d.task_id
                       AND b.kind = 'result' AND b.node = d.node AND b.image_index = %s
                     WHERE d.chain_id = %s AND d.task_id = %s""",  # noqa: S608
                (index, self.chain_id, task_id),
            )
            found = await cur.fetchone()
        if found is None:
            return None
        images = int(found.pop("images"))
        return images, (BlobRow(**found) if found["id"] is not None else None)

    async def check_one(self, facts: TaskFacts, index: int, data: bytes) -> ImageMismatch | None:
        assert facts.result is not None
        threshold = await self.chain.threshold(facts.task_type)
        return await anyio.to_thread.run_sync(
            check_image, facts.task_type, facts.result, index, data, threshold
        )

    async def try_deliver(self, facts: TaskFacts) -> bool:
        """Deliver a validated task whose result node has staged every image; True if the
        task is delivered (now or before)."""
        if not facts.validated or facts.result_node is None or facts.result is None:
            return False
        if await self.delivered(facts.task_id) is not None:
            return True
        count = expected_count(facts.task_type, facts.result)
        staged = {
            r.image_index: r
            for r in await self.blobs.of_task(
                self.chain_id, facts.task_id, BlobKind.STAGED, facts.result_node
            )
        }
        if any(i not in staged for i in range(count)):
            return False
        bad = await self._check_staged(facts, [staged[i] for i in range(count)])
        if bad:
            log.warning(
                "task_id=%s node=%s staged images refused: %s",
                facts.task_id, facts.result_node, "; ".join(f"{m.index}: {m.reason}" for m in bad),
            )  # fmt: skip
            await self._discard(facts, [staged[m.index] for m in bad])
            return False
        request_id = confirm_upload_request_id(self.chain_id, facts.task_id)
        await self.requester.request(
            tx_record(request_id, self.relay_address, "confirmUpload", [facts.task_id], now_ms())
        )
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO relay_deliveries (chain_id, task_id, node, images, request_id)
                   VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                (self.chain_id, facts.task_id, facts.result_node, count, request_id),
            )
            await conn.execute(
                """UPDATE relay_blobs SET kind = 'result'
                    WHERE chain_id = %s AND task_id = %s AND kind = 'staged' AND node = %s
                      AND image_index < %s""",
                (self.chain_id, facts.task_id, facts.result_node, count),
            )
            dropped = await self.blobs.delete_rows(
                conn,
                "chain_id = %s AND task_id = %s AND kind = 'staged'",
                (self.chain_id, facts.task_id),
            )
        await self.blobs.collect(dropped)
        log.info(
            "task_id=%s delivered by %s, %d image(s); %s",
            facts.task_id,
            facts.result_node,
            count,
            request_id,
        )
        return True

    async def _check_staged(self, facts: TaskFacts, rows: list[BlobRow]) -> list[ImageMismatch]:
        bad = []
        for row in rows:
            data = await self.blobs.content.get(row.sha256)
            mismatch = await self.check_one(facts, row.image_index, data)
            if mismatch is not None:
                bad.append(mismatch)
        return bad

    async def _discard(self, facts: TaskFacts, rows: list[BlobRow]) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            dropped = await self.blobs.delete_rows(conn, "id = ANY(%s)", ([r.id for r in rows],))
        await self.blobs.collect(dropped)

    async def pending(self) -> list[str]:
        """Validated tasks (per the read model) whose result node has staged images and that
        are not delivered yet."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """SELECT DISTINCT b.task_id
                     FROM relay_blobs b
                     JOIN tasks t ON t.chain_id = b.chain_id AND t.task_id = b.task_id
                                 AND t.result_node = b.node
                    WHERE b.chain_id = %s AND b.kind = 'staged' AND t.status = 'Validated'
                      AND NOT EXISTS (SELECT 1 FROM relay_deliveries d
                                       WHERE d.chain_id = b.chain_id AND d.task_id = b.task_id)
                    LIMIT 100""",
                (self.chain_id,),
            )
            return [str(r[0]) for r in await cur.fetchall()]
