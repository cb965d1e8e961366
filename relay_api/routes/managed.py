"""Managed mode: an API key creates a task that the relay's custodial wallet pays for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from relay_api.errors import PayloadTooLarge, Unprocessable
from relay_api.managed import canonical_args
from relay_api.routes.args import json_safe
from relay_api.routes.deps import ApiKeyCaller, ServicesDep
from relay_api.routes.models import ErrorBody, ManagedTask, ManagedTaskRequest
from schemas.task_args import TaskArgsInvalid, TaskKind, args_hash, parse_task_args

router = APIRouter(prefix="/v1", tags=["managed mode"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 422, 429)
}


@router.post(
    "/tasks",
    summary="Create a task with an API key (the relay pays and creates it on chain)",
    response_model=ManagedTask,
    status_code=202,
    responses=ERRORS,
)
async def create_task(
    request: ManagedTaskRequest, caller: ApiKeyCaller, services: ServicesDep
) -> JSONResponse:
    assert caller.api_key_id is not None
    raw = canonical_args(request.args)
    if len(raw) > services.settings.max_args_bytes:
        raise PayloadTooLarge(
            f"task args of {len(raw)} bytes are over the limit of "
            f"{services.settings.max_args_bytes} bytes"
        )
    try:
        parse_task_args(TaskKind(request.task_type), raw)
    except TaskArgsInvalid as exc:
        raise Unprocessable(
            f"task args invalid: {exc}", field=f"args.{exc.field}".rstrip("."),
            value=json_safe(exc.value), reason=exc.reason,
        ) from None  # fmt: skip
    created = await services.managed.create(
        caller.api_key_id, request.task_type, raw, args_hash(raw), request.model_ids,
        request.min_vram,
    )  # fmt: skip
    return JSONResponse(created, status_code=202)


@router.get(
    "/managed/{request_id}",
    summary="A managed task request: its task id once created on chain",
    response_model=ManagedTask,
    responses=ERRORS,
)
async def get_managed(
    request_id: str = Path(max_length=200, pattern=r"^relay:[0-9]+:managed:[0-9a-f]{32}$"),
    *,
    caller: ApiKeyCaller,
    services: ServicesDep,
) -> dict[str, Any]:
    assert caller.api_key_id is not None
    return await services.managed.get(request_id, caller.api_key_id)
