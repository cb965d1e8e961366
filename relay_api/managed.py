"""Managed mode: an application with an API key asks the relay to create a task; the relay's
custodial wallet pays and creates it (a `createTask` tx request), and keeps the arguments.

The task id exists only once the transaction is mined, so the answer is a request id; the
relay follows `chain.tx-outcomes` for its own requests, reads the TaskCreated event from the
receipt, and attaches the stored arguments to the new task. The application polls
`GET /v1/managed/{request_id}` (or follows the task id once it is there).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from confluent_kafka import OFFSET_END, Consumer, KafkaException, TopicPartition
from psycopg_pool import AsyncConnectionPool

from relay_api.auth import API_KEY_PREFIX, hash_api_key
from relay_api.blob_index import BlobIndex, BlobKind
from relay_api.chain_reader import ChainReader
from relay_api.errors import NotFound
from relay_api.tx_requests import TxRequester, managed_request_id, now_ms, tx_record
from schemas.catalog import CHAIN_TX_OUTCOMES
from schemas.codec import Codec
from schemas.errors import DecodeError

log = logging.getLogger(__name__)


def canonical_args(args: dict[str, Any]) -> bytes:
    """The bytes the relay stores and hashes for a managed task's arguments."""
    return json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class NewKey:
    id: int
    key: str  # shown once; only its hash is stored


async def create_api_key(pool: AsyncConnectionPool[Any], name: str, rate_per_minute: int) -> NewKey:
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO relay_api_keys (name, key_hash, rate_per_minute) VALUES (%s, %s, %s) RETURNING id",
            (name, hash_api_key(key), rate_per_minute),
        )
        row = await cur.fetchone()
    assert row is not None
    return NewKey(int(row[0]), key)


class ManagedTasks:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        blobs: BlobIndex,
        chain: ChainReader,
        requester: TxRequester,
        relay_address: str,
        fee_wei: int,
    ) -> None:
        self.pool = pool
        self.blobs = blobs
        self.chain = chain
        self.requester = requester
        self.relay_address = relay_address
        self.fee_wei = fee_wei
        self.chain_id = chain.deployment.chain_id

    async def create(
        self,
        api_key_id: int,
        task_type: str,
        raw_args: bytes,
        args_hash: bytes,
        model_ids: list[str],
        min_vram: int,
    ) -> dict[str, Any]:
        request_id = managed_request_id(self.chain_id, uuid.uuid4().hex)
        # The args are kept under the request until the task id is known.
        row, _ = await self.blobs.store(
            chain_id=self.chain_id, task_id=f"managed:{request_id}", kind=BlobKind.ARGS, node="",
            index=0, owner=f"api-key:{api_key_id}", data=raw_args, content_type="application/json",
        )  # fmt: skip
        async with self.pool.connection() as conn:
            await conn.execute(
                """INSERT INTO relay_managed_tasks
                       (request_id, api_key_id, chain_id, task_type, args_sha256, args_hash, fee, status)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, 'requested')""",
                (
                    request_id,
                    api_key_id,
                    self.chain_id,
                    task_type,
                    row.sha256,
                    args_hash,
                    self.fee_wei,
                ),
            )
        type_value = 0 if task_type == "SD" else 1
        await self.requester.request(
            tx_record(
                request_id, self.relay_address, "createTask",
                [str(type_value), "0x" + args_hash.hex(), model_ids, str(min_vram)],
                now_ms(), value_wei=self.fee_wei,
            )
        )  # fmt: skip
        return await self.get(request_id, api_key_id)

    async def get(self, request_id: str, api_key_id: int) -> dict[str, Any]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """SELECT request_id, task_type, status, task_id, tx_hash, error, fee, created_at
                     FROM relay_managed_tasks WHERE request_id = %s AND api_key_id = %s""",
                (request_id, api_key_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no managed task {request_id!r} for API key {api_key_id}")
        keys = (
            "request_id",
            "task_type",
            "status",
            "task_id",
            "tx_hash",
            "error",
            "fee",
            "created_at",
        )
        out = dict(zip(keys, row, strict=True))
        out["fee"] = str(out["fee"])
        out["created_at"] = out["created_at"].isoformat()
        return out

    async def settle(self, record: dict[str, Any]) -> None:
        """Apply one TxOutcome of a managed request."""
        request_id = record["request_id"]
        status = record["status"]
        if status != "MINED":
            error = record.get("error_name") or record.get("reason") or status
            await self._mark(
                request_id, "failed", None, record.get("tx_hash"), f"{status}: {error}"
            )
            return
        task_id = await self.chain.task_created_in(record["tx_hash"])
        if task_id is None:
            await self._mark(
                request_id, "failed", None, record["tx_hash"], "no TaskCreated in the receipt"
            )
            return
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                """UPDATE relay_blobs SET task_id = %s
                    WHERE chain_id = %s AND task_id = %s AND kind = 'args'""",
                (task_id, self.chain_id, f"managed:{request_id}"),
            )
            await conn.execute(
                """UPDATE relay_managed_tasks
                      SET status = 'created', task_id = %s, tx_hash = %s, updated_at = now()
                    WHERE request_id = %s""",
                (task_id, record["tx_hash"], request_id),
            )
        log.info("managed request %s created task_id=%s", request_id, task_id)

    async def _mark(
        self,
        request_id: str,
        status: str,
        task_id: str | None,
        tx_hash: str | None,
        error: str | None,
    ) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                """UPDATE relay_managed_tasks
                      SET status = %s, task_id = %s, tx_hash = %s, error = %s, updated_at = now()
                    WHERE request_id = %s AND status = 'requested'""",
                (status, task_id, tx_hash, error, request_id),
            )


class OutcomeFollower:
    """Reads `chain.tx-outcomes` from where it stood at startup and hands the managed
    requests' outcomes to `ManagedTasks.settle`. Requests still open at a restart are found
    again by reading back from the earliest of their creation times."""

    def __init__(self, bootstrap: str, codec: Codec, managed: ManagedTasks) -> None:
        self.codec = codec
        self.managed = managed
        self.prefix = managed_request_id(managed.chain_id, "")
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"relay-outcomes-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        self._assigned = False

    async def _assign(self) -> None:
        async with self.managed.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT min(created_at) FROM relay_managed_tasks WHERE status = 'requested' AND chain_id = %s",
                (self.managed.chain_id,),
            )
            row = await cur.fetchone()
        since = row[0] if row else None
        parts = [
            TopicPartition(CHAIN_TX_OUTCOMES.name, p, OFFSET_END)
            for p in range(CHAIN_TX_OUTCOMES.partitions)
        ]
        if since is not None:
            ms = int(since.timestamp() * 1000) - 60_000
            parts = await anyio.to_thread.run_sync(
                lambda: self.consumer.offsets_for_times(
                    [
                        TopicPartition(CHAIN_TX_OUTCOMES.name, p, ms)
                        for p in range(CHAIN_TX_OUTCOMES.partitions)
                    ],
                    timeout=10,
                )
            )
            parts = [
                TopicPartition(t.topic, t.partition, t.offset if t.offset >= 0 else OFFSET_END)
                for t in parts
            ]
        self.consumer.assign(parts)
        self._assigned = True

    async def step(self, timeout_s: float = 0.5) -> int:
        """Read what is there (waiting at most `timeout_s`); return how many were settled."""
        if not self._assigned:
            await self._assign()
        try:
            messages = await anyio.to_thread.run_sync(self.consumer.consume, 500, timeout_s)
        except KafkaException as exc:
            log.warning("reading %s: %s", CHAIN_TX_OUTCOMES.name, exc)
            return 0
        settled = 0
        for m in messages:
            if m.error() is not None or not (m.key() or b"").decode(errors="replace").startswith(
                self.prefix
            ):
                continue
            value = m.value()
            if value is None:
                continue
            try:
                _, record = self.codec.decode(value, expect="TxOutcome")
            except DecodeError:
                continue
            await self.managed.settle(record)
            settled += 1
        return settled

    def close(self) -> None:
        self.consumer.close()
