"""A task's status (read model, chain as fallback) and its status changes as SSE."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse

from relay_api.errors import NotFound
from relay_api.history_stream import parse_last_event_id
from relay_api.routes.deps import ServicesDep, TaskId
from relay_api.routes.models import ErrorBody, TaskStatus

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 404, 422)}


@router.get("/{task_id}", summary="A task's status", response_model=TaskStatus, responses=ERRORS)
async def get_task(task_id: TaskId, services: ServicesDep) -> Response:
    cached = await services.directory.status_body(task_id)
    if cached is not None:
        return Response(cached, media_type="application/json")
    facts = await services.chain.task(task_id)  # NotFound when the chain has none either
    body = {
        "chain_id": facts.chain_id, "task_id": task_id, "status": facts.status,
        "creator": facts.creator, "task_type": facts.task_type,
        "args_hash": "0x" + facts.args_hash.hex(), "selected_nodes": list(facts.nodes),
        "result_node": facts.result_node,
        "result": "0x" + facts.result.hex() if facts.result else None, "source": "chain",
    }  # fmt: skip
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.get(
    "/{task_id}/events",
    summary="A task's status changes, as Server-Sent Events (resumable: Last-Event-ID)",
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
)
async def task_events(
    request: Request,
    task_id: TaskId,
    services: ServicesDep,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this event id (an offset)."),
    ] = None,
) -> StreamingResponse:
    after = parse_last_event_id(last_event_id)
    row = await services.directory.row(task_id)
    created_ms = None
    if row is not None and row["created_at"] is not None:
        created_ms = int(row["created_at"].timestamp() * 1000)
    elif row is None:
        try:
            await services.chain.task(task_id)
        except NotFound:
            raise NotFound(f"task {task_id} does not exist on chain {services.chain_id}") from None
    stream = services.history.events(task_id, after, created_ms, request.is_disconnected)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
