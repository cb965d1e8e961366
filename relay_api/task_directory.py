"""Finding a task's facts and checking a caller's role in it.

The read model answers first. A task it has not seen, or a check it refuses while the task
may have moved on since (the projection trails the chain by a block or more), is asked of
the chain before the caller is turned away: the chain is the truth, the read model a copy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from relay_api import read_model
from relay_api.auth import Caller
from relay_api.chain_reader import ChainReader
from relay_api.errors import Forbidden
from relay_api.task_facts import Source, TaskFacts


class TaskDirectory:
    def __init__(
        self, pool: AsyncConnectionPool[Any], chain: ChainReader, status_cache_s: float
    ) -> None:
        self.pool = pool
        self.chain = chain
        self.chain_id = chain.deployment.chain_id
        self.status_cache_s = status_cache_s
        self._rows: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._bodies: dict[str, tuple[float, bytes]] = {}

    async def row(self, task_id: str) -> dict[str, Any] | None:
        """The read model's row (cached for `status_cache_s`: status reads are the hot path)."""
        now = time.monotonic()
        cached = self._rows.get(task_id)
        if cached is not None and now - cached[0] < self.status_cache_s:
            return cached[1]
        async with self.pool.connection() as conn:
            row = await read_model.task_row(conn, self.chain_id, task_id)
        if self.status_cache_s > 0:
            if len(self._rows) > 10_000:
                self._rows.clear()
            self._rows[task_id] = (now, row)
        return row

    def cached_status(self, task_id: str) -> bytes | None:
        """The status body if the cache holds a fresh one (no I/O: for the fast path)."""
        cached = self._bodies.get(task_id)
        if cached is not None and time.monotonic() - cached[0] < self.status_cache_s:
            return cached[1]
        return None

    async def status_body(self, task_id: str) -> bytes | None:
        """The read model's row as the JSON body of GET /v1/tasks/{id}, serialized once per
        `status_cache_s`."""
        now = time.monotonic()
        cached = self._bodies.get(task_id)
        if cached is not None and now - cached[0] < self.status_cache_s:
            return cached[1]
        row = await self.row(task_id)
        if row is None:
            return None
        body = json.dumps(
            {**read_model.jsonable(row), "source": "read-model"}, separators=(",", ":")
        ).encode()
        if self.status_cache_s > 0:
            if len(self._bodies) > 10_000:
                self._bodies.clear()
            self._bodies[task_id] = (now, body)
        return body

    async def facts(self, task_id: str) -> TaskFacts:
        async with self.pool.connection() as conn:
            row = await read_model.task_row(conn, self.chain_id, task_id)
        if row is None or row["status"] == "None":
            return await self.chain.task(task_id)
        return read_model.facts_of(row)

    async def fresh(self, task_id: str) -> TaskFacts:
        return await self.chain.task(task_id)

    async def require(
        self,
        task_id: str,
        allowed: Callable[[TaskFacts], bool],
        refusal: Callable[[TaskFacts], str],
    ) -> TaskFacts:
        facts = await self.facts(task_id)
        if allowed(facts):
            return facts
        if facts.source is Source.READ_MODEL and not facts.ended:
            facts = await self.fresh(task_id)
            if allowed(facts):
                return facts
        raise Forbidden(refusal(facts), task_id=task_id, status=facts.status)

    async def managed_owner(self, task_id: str) -> int | None:
        """The API key a managed task was created for, if it was."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT api_key_id FROM relay_managed_tasks WHERE chain_id = %s AND task_id = %s",
                (self.chain_id, task_id),
            )
            row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def require_creator(self, task_id: str, caller: Caller) -> TaskFacts | None:
        """The task's creator: its chain account (its facts are returned), or the API key it
        was created for (nothing more is read)."""
        if caller.api_key_id is not None:
            owner = await self.managed_owner(task_id)
            if owner != caller.api_key_id:
                raise Forbidden(f"task {task_id} was not created with API key {caller.api_key_id}")
            return None
        return await self.require(
            task_id,
            lambda f: f.creator == caller.address,
            lambda f: (
                f"{caller.address} is not the creator of task {task_id} (the creator is {f.creator})"
            ),
        )

    async def require_node(self, task_id: str, address: str) -> TaskFacts:
        return await self.require(
            task_id,
            lambda f: f.is_node(address),
            lambda f: (
                f"{address} is not a selected node of task {task_id} "
                f"(status {f.status}, nodes: {', '.join(f.nodes) or 'none yet'})"
            ),
        )
