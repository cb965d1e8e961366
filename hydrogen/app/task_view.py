"""A task as `TaskManager.getTask` returns it, and its chain events, as plain values.

Pure: the view is built from the call's tuple and the field names of the ABI's `TaskView`
struct, so a field added to the contract moves no index here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydrogen.app.progress import Observation, Progress, advance

# `TaskStatus`, `TaskType` and `AbortReason` of contracts/src/HydrogenTypes.sol, by value.
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
TASK_TYPES = ("SD", "LLM")
ABORT_REASONS = (
    "None",
    "Timeout",
    "NoConsensus",
    "ArgsInvalid",
    "UploadTimeout",
    "CreatorCancelled",
)
ENDED = frozenset({"Completed", "Aborted", "Cancelled"})
ZERO_ADDRESS = "0x" + "00" * 20


def output_fields(abi: Sequence[Mapping[str, Any]], function: str) -> tuple[str, ...]:
    """The field names of the struct `function` returns, in order."""
    for item in abi:
        if item.get("type") == "function" and item.get("name") == function:
            (struct,) = item["outputs"]
            return tuple(c["name"] for c in struct["components"])
    raise ValueError(f"the ABI has no function {function!r}")


def enum_name(names: Sequence[str], value: int) -> str:
    return names[value] if 0 <= value < len(names) else f"unknown({value})"


@dataclass(frozen=True)
class Member:
    node: str
    commit_order: int  # 1 = first to commit, 0 = not committed
    error_code: int  # of a disclosed error report, 0 for a result
    disclosed: bool
    active: bool
    result: bytes  # its disclosed result; b"" before it discloses


@dataclass(frozen=True)
class TaskView:
    task_id: int
    creator: str
    kind: str  # SD or LLM
    status: str
    abort_reason: str | None
    fee_wei: int
    min_vram: int
    created_at: int  # block time, seconds
    deadline: int
    args_hash: bytes
    members: tuple[Member, ...]  # empty while queued
    result_node: str | None

    @classmethod
    def of(cls, task_id: int, names: Sequence[str], values: Sequence[Any]) -> TaskView:
        v = dict(zip(names, values, strict=True))
        members = tuple(
            Member(m[0], int(m[1]), int(m[2]), bool(m[3]), bool(m[4]), bytes(r))
            for m, r in zip(v["members"], v["results"], strict=True)
            if m[0] != ZERO_ADDRESS
        )
        reason = enum_name(ABORT_REASONS, int(v["abortReason"]))
        return cls(
            task_id=task_id,
            creator=v["creator"],
            kind=enum_name(TASK_TYPES, int(v["taskType"])),
            status=enum_name(STATUS_NAMES, int(v["status"])),
            abort_reason=None if reason == "None" else reason,
            fee_wei=int(v["fee"]),
            min_vram=int(v["minVram"]),
            created_at=int(v["createdAt"]),
            deadline=int(v["deadline"]),
            args_hash=bytes(v["argsHash"]),
            members=members,
            result_node=None if v["resultNode"] == ZERO_ADDRESS else v["resultNode"],
        )

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(m.node for m in self.members)

    @property
    def commits(self) -> int:
        return sum(1 for m in self.members if m.commit_order > 0)

    @property
    def result(self) -> bytes | None:
        """The validated result (the result node's disclosure); None before validation."""
        for m in self.members:
            if m.node == self.result_node:
                return m.result or None
        return None

    def observation(self) -> Observation:
        return Observation(self.status, self.commits, self.abort_reason)

    def as_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "status": self.status,
            "abort_reason": self.abort_reason,
            "creator": self.creator,
            "fee_wei": str(self.fee_wei),
            "min_vram": self.min_vram,
            "created_at": self.created_at,
            "args_hash": "0x" + self.args_hash.hex(),
            "nodes": [
                {
                    "node": m.node,
                    "commit_order": m.commit_order,
                    "error_code": m.error_code,
                    "disclosed": m.disclosed,
                    "active": m.active,
                }
                for m in self.members
            ],
            "result_node": self.result_node,
            "result": "0x" + self.result.hex() if self.result else None,
        }


@dataclass(frozen=True)
class ChainEvent:
    """One TaskManager event of a task: its name, arguments and where it was mined."""

    name: str
    tx_hash: str
    block_number: int
    log_index: int
    block_time: int  # seconds
    args: Mapping[str, Any]


def transactions(events: Sequence[ChainEvent]) -> dict[str, Any]:
    """The transactions that moved a task, from its events: `create`, a `commits` and a
    `discloses` entry per node, then `validated` and the tx that ended it."""
    out: dict[str, Any] = {"create": None, "commits": [], "discloses": []}
    for e in sorted(events, key=lambda e: (e.block_number, e.log_index)):
        if e.name == "TaskCreated":
            out["create"] = e.tx_hash
        elif e.name == "CommitmentSubmitted":
            out["commits"].append({"node": e.args.get("node"), "tx": e.tx_hash})
        elif e.name == "ResultDisclosed":
            out["discloses"].append({"node": e.args.get("node"), "tx": e.tx_hash})
        elif e.name == "TaskValidated":
            out["validated"] = e.tx_hash
        elif e.name in ("TaskCompleted", "TaskAborted", "TaskCancelled"):
            out[e.name.removeprefix("Task").lower()] = e.tx_hash
    return out


_EVENT_STATUS = {
    "TaskQueued": "Queued",
    "TaskStarted": "Running",
    "CommitmentSubmitted": "Running",
    "DisclosureOpened": "Disclosing",
    "TaskValidated": "Validated",
    "TaskCompleted": "Completed",
    "TaskAborted": "Aborted",
    "TaskCancelled": "Cancelled",
}


def progress_from_events(events: Sequence[ChainEvent]) -> Progress:
    """The phases a task went through by its events, timed by their blocks (whole seconds,
    from the task's creation): what is known of a task nobody watched."""
    ordered = sorted(events, key=lambda e: (e.block_number, e.log_index))
    created = next((e.block_time for e in ordered if e.name == "TaskCreated"), None)
    progress = Progress()
    commits = 0
    for e in ordered:
        status = _EVENT_STATUS.get(e.name)
        if status is None:
            continue
        commits += e.name == "CommitmentSubmitted"
        reason = None
        if e.name == "TaskAborted":
            reason = enum_name(ABORT_REASONS, int(e.args.get("reason", 0)))
        elif e.name == "TaskCancelled":
            reason = "CreatorCancelled"
        now = float(e.block_time - (created if created is not None else e.block_time))
        progress = advance(progress, Observation(status, commits, reason), now)
    return progress
