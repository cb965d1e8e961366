"""Response bodies, as the OpenAPI document describes them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from relay_api.blob_index import BlobRow


class ErrorBody(BaseModel):
    error: str = Field(description="The kind: bad_request, unauthenticated, forbidden, ...")
    detail: str = Field(description="What was wrong, with the value.")


class BlobStored(BaseModel):
    task_id: str
    kind: str
    node: str
    index: int
    sha256: str
    size: int

    @classmethod
    def of(cls, row: BlobRow) -> BlobStored:
        return cls(
            task_id=row.task_id, kind=row.kind, node=row.node, index=row.image_index,
            sha256=row.sha256.hex(), size=row.size,
        )  # fmt: skip


class TaskStatus(BaseModel):
    chain_id: int
    task_id: str
    status: str
    abort_reason: str | None = None
    creator: str | None = None
    task_type: str | None = None
    args_hash: str | None = None
    model_ids: list[str] = []
    selected_nodes: list[str] = []
    result_node: str | None = None
    result: str | None = None
    fee: str | None = None
    created_at: str | None = None
    ended_at: str | None = None
    deadline: str | None = None
    version: int | None = None
    source: str = Field(description="read-model, or chain for a task not projected yet.")
    delivered_images: int | None = None


class StagedResult(BlobStored):
    delivered: bool = Field(description="Whether this upload completed the task's delivery.")


class ManagedTaskRequest(BaseModel):
    task_type: str = Field(pattern="^(SD|LLM)$", examples=["SD"])
    args: dict[str, Any] = Field(description="Task arguments (schemas/task_args).")
    model_ids: list[str] = Field(default_factory=list, max_length=16)
    min_vram: int = Field(default=0, ge=0, le=1024)


class ManagedTask(BaseModel):
    request_id: str
    task_type: str
    status: str
    task_id: str | None
    tx_hash: str | None
    error: str | None
    fee: str
    created_at: str
