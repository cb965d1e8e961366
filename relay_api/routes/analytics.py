"""Nodes and network statistics, from the Postgres read model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from relay_api import read_model
from relay_api.routes.deps import ServicesDep

router = APIRouter(prefix="/v1", tags=["analytics"])

NODE_STATUSES = "^(None|Available|Busy|Paused|PendingPause|PendingQuit|Quit|Slashed)$"
Hours = Annotated[int, Query(ge=1, le=24 * 90, description="How far back, in hours.")]


@router.get("/nodes", summary="Nodes with their counters")
async def list_nodes(
    services: ServicesDep,
    status: Annotated[str | None, Query(pattern=NODE_STATUSES)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    async with services.pool.connection() as conn:
        nodes = await read_model.nodes(conn, services.chain_id, status, limit, offset)
    return {"nodes": nodes, "limit": limit, "offset": offset}


@router.get("/stats/tasks-per-hour", summary="Tasks created per hour, by current status")
async def tasks_per_hour(services: ServicesDep, hours: Hours = 24) -> dict[str, Any]:
    async with services.pool.connection() as conn:
        rows = await read_model.tasks_per_hour(conn, services.chain_id, hours)
    return {"hours": hours, "buckets": rows}


@router.get("/stats/phase-latency", summary="p50/p90/p99 seconds of each task phase")
async def phase_latency(services: ServicesDep, hours: Hours = 24) -> dict[str, Any]:
    async with services.pool.connection() as conn:
        rows = await read_model.phase_latency(conn, services.chain_id, hours)
    return {"hours": hours, "phases": rows}


@router.get("/stats/nodes", summary="Tasks, successes, slashes and timeouts per node")
async def node_stats(
    services: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    async with services.pool.connection() as conn:
        rows = await read_model.node_outcomes(conn, services.chain_id, limit)
    return {"nodes": rows}
