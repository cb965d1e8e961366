"""What the agents put on topics and in tables, apart from the agents themselves.

- Avro records out of domain values: TaskSnapshot, NodeSnapshot, TaskStatusChanged,
  InferenceJob, TxRequest, DeadLetter; and the domain InferenceResult out of its Avro record.
- `StateCodec`, the faust codec of the table values (registered as "hydrogen_state").

Table values are pickled frozen dataclasses of `streams.domain`. Pickle round-trips them
exactly (enums, bytes, nested tuples of typed events) with no second schema to keep in step
with the domain, which a JSON mapping of TaskState and its event history would need. The
changelog is internal state, written and read only by this app, and rebuildable: after a
change of the domain classes, drop the changelog and replay the source topics. The unpickler
is restricted to classes of `streams.domain` and the builtins they are made of, so a foreign
message on a changelog topic cannot run code.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faust.serializers import codecs

from schemas.dead_letter import dead_letter_record
from streams.domain.commands import RunInference
from streams.domain.deadline import KeeperState
from streams.domain.inputs import InferenceResult, derive_nonce
from streams.domain.node import NodeState
from streams.domain.protocol import TaskStatus
from streams.domain.saga import SagaState
from streams.domain.task import TaskState
from streams.domain.task import evolve as evolve_task
from streams.projection import label

STATE_CODEC = "hydrogen_state"
_SAFE_BUILTINS = frozenset({"tuple", "frozenset", "set", "list", "dict", "bytes", "int", "str"})


class _DomainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("streams.domain.") or module == "streams.agents_records":
            return super().find_class(module, name)
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"table state may not hold {module}.{name}")


class StateCodec(codecs.Codec):
    """pickle restricted to the domain's classes (see the module docstring)."""

    def _dumps(self, obj: Any) -> bytes:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    def _loads(self, s: bytes) -> Any:
        return _DomainUnpickler(io.BytesIO(s)).load()


codecs.register(STATE_CODEC, StateCodec())


@dataclass(frozen=True)
class ParkedResult:
    """An inference result that came before the chain event that makes it expected.

    The saga's sources are separate topics, so nothing orders a result after its task's
    TaskStarted (a replay after a crash reads them in any order). The saga ignores a result
    it has no duty for, so the agent keeps it here and offers it again after each chain event.
    `offset` and `value` name the message, for a dead letter should the saga reject it."""

    item: InferenceResult
    offset: int
    value: bytes


@dataclass(frozen=True)
class TaskEntry:
    """One task in the node-saga table: our nodes' saga and the keeper's watch of the task.

    `partition` is the task's partition, so that a tick of one partition reaches only the
    tasks stored there, and a worker resends only what the tasks of its partitions asked for.
    `changed_at_ms` is the worker's clock at the last change: only a recent change can have
    reached the changelog ahead of its commands (see `streams.agents`, "Order")."""

    saga: SagaState
    keeper: KeeperState
    partition: int
    parked: tuple[ParkedResult, ...] = ()
    changed_at_ms: int = 0


@dataclass(frozen=True)
class ProjectedTask:
    """One task in the projection table: its read model, its partition and when it last
    changed (the worker's clock), for the same reasons as `TaskEntry`.

    `node_retractions` are the (node address, LogRetracted message) pairs the projection sent
    to streams.node-facts for this task: which nodes a retracted event concerned is known only
    from the state before the retraction, so a resend after recovery takes them from here."""

    state: TaskState
    partition: int
    changed_at_ms: int = 0
    node_retractions: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class ProjectedNode:
    """One node in the node projection table: its read model, its partition (of
    chain.node-events) and when it last changed (the worker's clock), as `ProjectedTask`."""

    state: NodeState
    partition: int
    changed_at_ms: int = 0


def table_key(chain_id: int, subject: str) -> str:
    """Tables hold tasks (and nodes) of every chain: the message key, a task id or a node
    address, is not enough."""
    return f"{chain_id}:{subject}"


def _ms(seconds: int | None) -> int | None:
    return None if seconds is None else seconds * 1000


def task_snapshot(task: TaskState) -> dict[str, Any]:
    if task.chain_id is None:
        raise ValueError(f"task {task.task_id} has no chain event yet; nothing to snapshot")
    t = task.times
    return {
        "task_id": task.task_id,
        "chain_id": task.chain_id,
        "status": task.status.label,
        "abort_reason": task.abort_reason.name,
        "creator": task.creator,
        "task_type": None if task.task_type is None else task.task_type.name,
        "args_hash": task.args_hash,
        "model_ids": list(task.model_ids),
        "fee_wei": str(task.fee),
        "members": [
            {
                "node": m.node,
                "slot": m.slot,
                "committed": m.commitment is not None,
                "commit_order": m.commit_order,
                "disclosed": m.result is not None,
                "error_code": m.error_code,
                "fault": None if m.fault is None else m.fault.name,
                "penalty_wei": str(m.penalty),
                "payout_wei": str(m.payout),
                "active": m.active,
            }
            for m in task.members
        ],
        "deadline": _ms(task.deadline),
        "result_node": task.result_node,
        "result": task.result,
        "created_at": t.created,
        "started_at": t.started,
        "disclosing_at": t.disclosing,
        "validated_at": t.validated,
        "ended_at": t.ended,
        "version": task.version,
        "last_event_id": task.history[-1].meta.event_id if task.history else None,
        "block_number": None if task.position is None else task.position[0],
    }


def node_snapshot(chain_id: int, node: NodeState) -> dict[str, Any]:
    """The NodeSnapshot record of a node's state; the same fields as the projector's `nodes`
    row (`streams.projection.node_row`). `chain_id` is the table key's: a node that has seen
    only a retraction has none of its own yet."""
    last = node.recent[-1].meta.event_id if node.recent else None
    return {
        "chain_id": chain_id,
        "address": node.address,
        "status": label(node.status),
        "stake_wei": str(node.stake),
        "gpu_name": node.gpu_name,
        "vram": node.vram,
        "tier": node.tier,
        "model_ids": list(node.model_ids),
        "current_task": node.current_task,
        "tasks": node.tasks,
        "successes": node.successes,
        "slashes": node.slashes,
        "timeouts": node.timeouts,
        "deliveries": node.deliveries,
        "earned_wei": str(node.earned),
        "fined_wei": str(node.fined),
        "joined_at": node.joined_at,
        "updated_at": node.updated_at,
        "version": node.version,
        "last_event_id": last,
    }


def entered_at(task: TaskState, status: TaskStatus) -> int | None:
    """Block time (ms) at which `task` entered `status`, as its read model knows it."""
    t = task.times
    if status.terminal:
        return t.ended
    return {
        TaskStatus.NONE: t.created,
        TaskStatus.QUEUED: t.queued,
        TaskStatus.RUNNING: t.started,
        TaskStatus.DISCLOSING: t.disclosing,
        TaskStatus.VALIDATED: t.validated,
    }[status]


def status_changed(before: TaskState, after: TaskState) -> dict[str, Any] | None:
    """The TaskStatusChanged record of a fold step, or None when the status stayed."""
    if before.status is after.status or after.chain_id is None:
        return None
    now = entered_at(after, after.status)
    since = entered_at(before, before.status)
    created = after.times.created
    cause = after.history[-1].meta.event_id if after.history else "retraction"
    return {
        "event_id": f"{cause}:{after.version}",
        "task_id": after.task_id,
        "chain_id": after.chain_id,
        "from_status": before.status.label,
        "to_status": after.status.label,
        "abort_reason": after.abort_reason.name,
        "changed_at": now,
        "phase_ms": None if now is None or since is None else now - since,
        "since_created_ms": None if now is None or created is None else now - created,
        "version": after.version,
    }


def status_history(task: TaskState) -> list[dict[str, Any]]:
    """Every TaskStatusChanged record of `task`, derived again by folding its history.

    The records are the ones the live fold emitted, byte for byte, as long as the task saw no
    retraction (a retraction counts a version the refold does not): same event ids, so a
    consumer of tasks.history drops the copies it already has."""
    records: list[dict[str, Any]] = []
    before = TaskState(task.task_id)
    for event in task.history:
        after = evolve_task(before, event)
        change = status_changed(before, after)
        if change is not None:
            records.append(change)
        before = after
    return records


def inference_job(command: RunInference, now_ms: int) -> dict[str, Any]:
    return {
        "job_id": command.job_id,
        "chain_id": command.chain_id,
        "task_id": command.task_id,
        "node": command.node,
        "task_type": command.task_type.name,
        "args_hash": command.args_hash,
        "model_ids": list(command.model_ids),
        "deadline": command.deadline_ms,
        "requested_at": now_ms,
    }


def inference_result(record: Mapping[str, Any], secret: bytes) -> tuple[int, InferenceResult]:
    """(chain id, the domain's InferenceResult) of an InferenceResult record, with the nonce
    derived for it (`derive_nonce`)."""
    chain_id = int(record["chain_id"])
    task_id = str(record["task_id"])
    node = str(record["node"])
    return chain_id, InferenceResult(
        task_id=task_id,
        node=node,
        result=record.get("result"),
        error_code=record.get("error_code"),
        nonce=derive_nonce(secret, chain_id, task_id, node),
    )


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    consumer: str,
    error: BaseException,
    now_ms: int,
) -> dict[str, Any]:
    return dead_letter_record(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        consumer=consumer,
        error_type=type(error).__name__,
        reason=str(error) or repr(error),
        now_ms=now_ms,
    )
