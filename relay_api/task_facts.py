"""What the relay must know about a task to decide who may do what with its blobs.

The Postgres read model (`tasks`, written by the projector) answers first; the chain is read
when the projection has not seen the task yet, or lags behind it (a node selected a block ago).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# `TaskStatus` of contracts/src/HydrogenTypes.sol, by value; the read model spells them so.
STATUS_NAMES = (
    "None",
    "Queued",
    "Running",
    "Disclosing",
    "Validated",
    "Completed",
    "Aborted",
    "Cancelled",
)
ENDED = frozenset({"Completed", "Aborted", "Cancelled"})
TASK_TYPES = ("SD", "LLM")  # `TaskType`, by value


class Source(StrEnum):
    READ_MODEL = "read-model"
    CHAIN = "chain"


@dataclass(frozen=True)
class TaskFacts:
    chain_id: int
    task_id: str
    status: str
    creator: str
    task_type: str  # SD or LLM
    args_hash: bytes
    nodes: tuple[str, ...]  # selected, by slot; empty while queued
    result_node: str | None
    result: bytes | None  # the validated result (p-hashes of SD images, sha256 for LLM)
    source: Source

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def validated(self) -> bool:
        return self.status == "Validated"

    def is_node(self, address: str) -> bool:
        return address in self.nodes
