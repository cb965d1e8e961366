"""Results: nodes stage their images; the creator downloads the delivered ones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from relay_api.blob_index import BlobKind
from relay_api.download import blob_response
from relay_api.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from relay_api.routes.deps import (
    ImageIndex,
    NodeAddress,
    ServicesDep,
    Signed,
    SignedOrKey,
    TaskId,
    signed,
)
from relay_api.routes.models import BlobStored, ErrorBody, StagedResult

router = APIRouter(prefix="/v1/tasks", tags=["results"])

SignedImage = Annotated[Signed, Depends(signed(lambda s: s.max_image_bytes, "result image"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422)
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@router.put(
    "/{task_id}/results/{node}/{index}",
    summary="Stage a result image (a selected node, for itself)",
    response_model=StagedResult,
    status_code=201,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def put_result(
    request: Request,
    task_id: TaskId,
    node: NodeAddress,
    index: ImageIndex,
    signed: SignedImage,
    services: ServicesDep,
) -> JSONResponse:
    if signed.address != node:
        raise Forbidden(
            f"the request is signed by {signed.address}, but the path names node {node}"
        )
    if index >= services.settings.max_images:
        raise BadRequest(
            f"image index {index} is out of range: at most {services.settings.max_images} images a task"
        )
    facts = await services.directory.require_node(task_id, node)
    if facts.ended:
        raise Conflict(f"task {task_id} has ended ({facts.status}); no more results are staged")
    if await services.deliveries.delivered(task_id) is not None:
        raise Conflict(f"task {task_id} is already delivered")
    if facts.task_type == "SD" and not signed.body.startswith(PNG_SIGNATURE):
        raise Unprocessable(
            f"image {index} is not a PNG: it starts with {signed.body[:8].hex() or 'nothing'}",
            field="body", value=signed.body[:8].hex(),
        )  # fmt: skip
    if not facts.validated:
        facts = await services.directory.fresh(task_id)  # the projection may lag the chain
    if facts.validated:
        if facts.result_node != node:
            raise Conflict(
                f"task {task_id} was validated with {facts.result_node} delivering; "
                f"images of {node} are not needed"
            )
        mismatch = await services.deliveries.check_one(facts, index, signed.body)
        if mismatch is not None:
            services.metrics.refused_images.inc()
            raise Unprocessable(
                f"image {index} does not match the validated result: {mismatch.reason}",
                field=f"images.{index}",
            )
    content_type = request.headers.get("content-type", "application/octet-stream")[:100]
    row, created = await services.blobs.store(
        chain_id=services.chain_id, task_id=task_id, kind=BlobKind.STAGED, node=node,
        index=index, owner=node, data=signed.body, content_type=content_type,
    )  # fmt: skip
    if created:
        services.metrics.blob_bytes.labels("staged").inc(row.size)
    delivered = facts.validated and await services.deliveries.try_deliver(facts)
    if delivered:
        services.metrics.deliveries.inc()
    body = StagedResult(**BlobStored.of(row).model_dump(), delivered=delivered)
    return JSONResponse(
        body.model_dump(), status_code=201 if created else 200, headers={"ETag": row.etag}
    )


@router.get(
    "/{task_id}/results/{index}",
    summary="Download a delivered result image (the creator)",
    responses={200: {"content": {"image/png": {}}}, 206: {}, 304: {}, 307: {}, **ERRORS},
)
async def get_result(
    request: Request, task_id: TaskId, index: ImageIndex, caller: SignedOrKey, services: ServicesDep
) -> Response:
    facts = await services.directory.require_creator(task_id, caller)
    delivered = await services.deliveries.delivered_image(task_id, index)
    if delivered is None:
        status = f" (status {facts.status})" if facts is not None else ""
        raise Conflict(
            f"task {task_id}'s result is not delivered yet{status}; "
            "follow GET /v1/tasks/{id}/events"
        )
    images, row = delivered
    if index >= images:
        raise NotFound(f"task {task_id} has {images} result image(s); no index {index}")
    if row is None:
        raise NotFound(f"result image {index} of task {task_id} was deleted (retention)")
    return blob_response(
        request,
        row,
        services.content,
        services.settings.s3_presign_s,
        services.settings.download_chunk_bytes,
    )
