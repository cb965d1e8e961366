"""Queries of the Postgres read model (`tasks`, `nodes`, written by streams.projector).

The relay only reads these tables; it never writes them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from relay_api.task_facts import Source, TaskFacts

_TASK_STATUS_COLUMNS = """
    chain_id, task_id, status, abort_reason, creator, task_type, args_hash, model_ids,
    min_vram, vram_tier, fee, selected_nodes, agreeing_nodes, result_node, result, payouts,
    refund, created_at, queued_at, started_at, disclosing_at, validated_at, ended_at, deadline,
    version, updated_at
"""


async def task_row(
    conn: AsyncConnection[Any], chain_id: int, task_id: str
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_TASK_STATUS_COLUMNS} FROM tasks WHERE chain_id = %s AND task_id = %s",  # noqa: S608
            (chain_id, task_id),
        )
        return await cur.fetchone()


def facts_of(row: dict[str, Any]) -> TaskFacts:
    return TaskFacts(
        chain_id=row["chain_id"],
        task_id=row["task_id"],
        status=row["status"],
        creator=row["creator"] or "",
        task_type=row["task_type"] or "SD",
        args_hash=bytes(row["args_hash"] or b""),
        nodes=tuple(row["selected_nodes"]),
        result_node=row["result_node"],
        result=bytes(row["result"]) if row["result"] is not None else None,
        source=Source.READ_MODEL,
    )


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON wants it: bytes as 0x-hex, wei as decimal strings, times ISO 8601."""
    return {k: _jsonable(v) for k, v in row.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


async def nodes(
    conn: AsyncConnection[Any], chain_id: int, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT address, status, stake, gpu_name, vram, tier, model_ids, current_task,
                      tasks, successes, slashes, timeouts, deliveries, earned, fined,
                      joined_at, updated_at
                 FROM nodes
                WHERE chain_id = %(chain)s AND (%(status)s::text IS NULL OR status = %(status)s)
                ORDER BY address
                LIMIT %(limit)s OFFSET %(offset)s""",
            {"chain": chain_id, "status": status, "limit": limit, "offset": offset},
        )
        return [jsonable(r) for r in await cur.fetchall()]


async def tasks_per_hour(
    conn: AsyncConnection[Any], chain_id: int, hours: int
) -> list[dict[str, Any]]:
    """Tasks created in each of the last `hours` hours (by block time), by current status."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT date_trunc('hour', created_at) AS hour, status, count(*) AS tasks
                 FROM tasks
                WHERE chain_id = %s AND created_at >= now() - make_interval(hours => %s)
                GROUP BY 1, 2 ORDER BY 1, 2""",
            (chain_id, hours),
        )
        return [jsonable(r) for r in await cur.fetchall()]


# Each phase of a task, as the interval between two of its timestamps.
PHASES = {
    "queue": ("created_at", "started_at"),
    "commit": ("started_at", "disclosing_at"),
    "disclose": ("disclosing_at", "validated_at"),
    "upload": ("validated_at", "ended_at"),
    "total": ("created_at", "ended_at"),
}


async def phase_latency(
    conn: AsyncConnection[Any], chain_id: int, hours: int
) -> list[dict[str, Any]]:
    """p50, p90 and p99 seconds of each phase, over tasks created in the last `hours` hours."""
    # Only the fixed column names of PHASES go into the text; values are parameters.
    parts = [
        f"""SELECT '{name}' AS phase, count(*) AS tasks,
                   percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP
                       (ORDER BY extract(epoch FROM {end} - {start})) AS seconds
              FROM tasks
             WHERE chain_id = %(chain)s AND {start} IS NOT NULL AND {end} IS NOT NULL
               AND created_at >= now() - make_interval(hours => %(hours)s)"""  # noqa: S608
        for name, (start, end) in PHASES.items()
    ]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(" UNION ALL ".join(parts), {"chain": chain_id, "hours": hours})
        out = []
        for r in await cur.fetchall():
            p50, p90, p99 = r["seconds"] or (None, None, None)
            out.append(
                {"phase": r["phase"], "tasks": r["tasks"], "p50_s": p50, "p90_s": p90, "p99_s": p99}
            )
        return out


async def node_outcomes(
    conn: AsyncConnection[Any], chain_id: int, limit: int
) -> list[dict[str, Any]]:
    """Tasks, successes, slashes and timeouts per node, most tasks first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT address, status, tasks, successes, slashes, timeouts, deliveries,
                      CASE WHEN tasks > 0 THEN successes::float / tasks END AS success_rate
                 FROM nodes WHERE chain_id = %s
                ORDER BY tasks DESC, address LIMIT %s""",
            (chain_id, limit),
        )
        return [jsonable(r) for r in await cur.fetchall()]
