"""InferenceJob in, InferenceResult out: the records of `inference.jobs` and `inference.results`
as typed values (schemas/avro/InferenceJob.v1.avsc, InferenceResult.v1.avsc)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.task_args import TaskKind


@dataclass(frozen=True)
class Job:
    job_id: str
    chain_id: int
    task_id: str
    node: str
    kind: TaskKind
    args_hash: bytes
    model_ids: tuple[str, ...]
    deadline_ms: int
    requested_at_ms: int

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Job:
        return cls(
            job_id=str(record["job_id"]),
            chain_id=int(record["chain_id"]),
            task_id=str(record["task_id"]),
            node=str(record["node"]),
            kind=TaskKind(record["task_type"]),
            args_hash=bytes(record["args_hash"]),
            model_ids=tuple(record["model_ids"]),
            deadline_ms=_epoch_ms(record["deadline"]),
            requested_at_ms=_epoch_ms(record["requested_at"]),
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "chain_id": self.chain_id,
            "task_id": self.task_id,
            "node": self.node,
            "task_type": str(self.kind),
            "args_hash": self.args_hash,
            "model_ids": list(self.model_ids),
            "deadline": _datetime(self.deadline_ms),
            "requested_at": _datetime(self.requested_at_ms),
        }


@dataclass(frozen=True)
class Outcome:
    """What a node made of a job: a result or an error code, never both."""

    job: Job
    result: bytes | None
    error_code: int | None
    reason: str = ""  # why, for the log; never published
    dtype: str | None = None
    timings_ms: dict[str, int] = field(default_factory=dict)
    blob_refs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.result is None) == (self.error_code is None):
            raise ValueError(f"job {self.job.job_id}: an outcome has a result or an error code, not both or neither")  # fmt: skip

    def to_record(self, finished_at_ms: int) -> dict[str, Any]:
        job = self.job
        return {
            "job_id": job.job_id,
            "chain_id": job.chain_id,
            "task_id": job.task_id,
            "node": job.node,
            "result": self.result,
            "error_code": self.error_code,
            "dtype": self.dtype,
            "timings_ms": dict(self.timings_ms),
            "blob_refs": list(self.blob_refs),
            "finished_at": _datetime(finished_at_ms),
        }


def _epoch_ms(value: datetime | int) -> int:
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    return int(value)


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
