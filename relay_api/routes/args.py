"""Task arguments: the creator puts them, the task's selected nodes read them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from relay_api.blob_index import BlobKind, BlobRow
from relay_api.download import blob_response
from relay_api.errors import Conflict, NotFound, Unprocessable
from relay_api.routes.deps import ServicesDep, Signed, SignedSmall, TaskId, signed
from relay_api.routes.models import BlobStored, ErrorBody
from schemas.task_args import TaskArgsInvalid, TaskKind, args_hash, parse_task_args

router = APIRouter(prefix="/v1/tasks", tags=["task args"])

SignedArgs = Annotated[Signed, Depends(signed(lambda s: s.max_args_bytes, "task args"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422)
}


def json_safe(value: object) -> object:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def stored(row: BlobRow, created: bool) -> JSONResponse:
    return JSONResponse(
        BlobStored.of(row).model_dump(), status_code=201 if created else 200,
        headers={"ETag": row.etag},
    )  # fmt: skip


@router.put(
    "/{task_id}/args",
    summary="Put a task's arguments (the creator)",
    response_model=BlobStored,
    status_code=201,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "The exact bytes whose keccak256 is the task's argsHash on chain.",
        }
    },
)
async def put_args(task_id: TaskId, signed: SignedArgs, services: ServicesDep) -> JSONResponse:
    facts = await services.directory.require_creator(task_id, signed.caller)
    assert facts is not None  # a signed caller
    if facts.ended:
        raise Conflict(f"task {task_id} has ended ({facts.status}); its args are no longer taken")
    try:
        parse_task_args(TaskKind(facts.task_type), signed.body)
    except TaskArgsInvalid as exc:
        raise Unprocessable(
            f"task args invalid: {exc}",
            field=exc.field,
            value=json_safe(exc.value),
            reason=exc.reason,
        ) from None
    digest = args_hash(signed.body)
    if digest != facts.args_hash:
        raise Conflict(
            f"keccak256 of the body is 0x{digest.hex()}, but task {task_id}'s argsHash on chain "
            f"is 0x{facts.args_hash.hex()}",
            field="argsHash",
        )
    row, created = await services.blobs.store(
        chain_id=services.chain_id, task_id=task_id, kind=BlobKind.ARGS, node="", index=0,
        owner=str(signed.caller), data=signed.body, content_type="application/json",
    )  # fmt: skip
    if created:
        services.metrics.blob_bytes.labels("args").inc(row.size)
    return stored(row, created)


@router.get(
    "/{task_id}/args",
    summary="Get a task's arguments (its selected nodes)",
    responses={200: {"content": {"application/json": {}}}, 304: {}, 206: {}, **ERRORS},
)
async def get_args(
    request: Request, task_id: TaskId, signed: SignedSmall, services: ServicesDep
) -> Response:
    await services.directory.require_node(task_id, signed.address)
    row = await services.blobs.find(services.chain_id, task_id, BlobKind.ARGS)
    if row is None:
        raise NotFound(f"the creator has not put task {task_id}'s args yet")
    return blob_response(
        request,
        row,
        services.content,
        services.settings.s3_presign_s,
        services.settings.download_chunk_bytes,
    )
