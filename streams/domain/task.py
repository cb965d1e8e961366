"""The task read model: one task as the chain has it, folded from its TaskManager events.

`evolve(state, event)` is the only way a TaskState changes. It

1. drops an event it has already applied: the same event_id, or a chain position
   (block_number, log_index) at or before the last one applied (Kafka delivers at least once;
   one task's events come in chain order on one partition, so an older position is a
   redelivery);
2. asks TRANSITIONS (`streams.domain.transitions`) for the new status, which rejects what the
   contract cannot emit;
3. applies the event's fields and bumps `version` by one.

Reorganizations. A task's history is short (at most about twenty events), so the state keeps
the events it applied (`history`). A `LogRetracted` naming one of them, from the same block
hash, is honored by folding the remaining events again from an empty state; the result keeps
counting versions (a retraction is one more applied change, so versions only grow) and records
the retracted (event_id, block_hash), so a late redelivery of that very copy is dropped while
the same event re-mined in another block (same event_id, new block hash) is applied. A
retraction of anything else changes nothing. Folding again is simpler than undoing each kind
of event, and it is correct by construction: the state after a retraction is exactly the
state the remaining events give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from streams.domain.errors import TransitionRejected, WrongTask
from streams.domain.events import (
    CommitmentSubmitted,
    DeliveryReassigned,
    DisclosureOpened,
    LogRetracted,
    Meta,
    NodePenalized,
    NodeSelected,
    Position,
    ResultDisclosed,
    TaskAborted,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskEvent,
    TaskExpired,
    TaskQueued,
    TaskStarted,
    TaskValidated,
    Timeouts,
)
from streams.domain.protocol import AbortReason, Fault, TaskStatus, TaskType
from streams.domain.transitions import next_status


@dataclass(frozen=True)
class Member:
    """One selected node's part in the task, as `TaskManager.Member` plus what it was paid."""

    node: str
    slot: int
    commitment: bytes | None = None
    commit_order: int = 0  # 1 = first to commit, 0 = not committed
    result: bytes | None = None
    error_code: int = 0
    fault: Fault | None = None
    penalty: int = 0  # wei slashed or fined
    payout: int = 0  # wei credited on completion
    active: bool = True  # selected, neither dismissed nor released


@dataclass(frozen=True)
class PhaseTimes:
    """Block times (epoch ms) at which the task entered each phase."""

    created: int | None = None
    queued: int | None = None
    started: int | None = None
    disclosing: int | None = None
    validated: int | None = None
    ended: int | None = None


@dataclass(frozen=True)
class TaskState:
    task_id: str
    chain_id: int | None = None
    status: TaskStatus = TaskStatus.NONE
    abort_reason: AbortReason = AbortReason.NONE
    creator: str | None = None
    task_type: TaskType | None = None
    args_hash: bytes = b""
    model_ids: tuple[str, ...] = ()
    min_vram: int = 0
    vram_tier: int = 0
    fee: int = 0
    timeouts: Timeouts | None = None
    seed: int | None = None
    members: tuple[Member, ...] = ()
    # The live phase's deadline in chain seconds (`Task.deadline`); None before the first
    # phase and once the task has ended.
    deadline: int | None = None
    result_node: str | None = None
    result: bytes | None = None
    agreeing_nodes: tuple[str, ...] = ()
    refund: int | None = None
    expirations: tuple[tuple[TaskStatus, int], ...] = ()  # (phase, deadline) of each TaskExpired
    times: PhaseTimes = field(default_factory=PhaseTimes)
    version: int = 0
    position: Position | None = None
    history: tuple[TaskEvent, ...] = ()
    retracted: tuple[tuple[str, str], ...] = ()  # (event_id, block_hash)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(m.node for m in self.members)

    def member(self, node: str) -> Member | None:
        return next((m for m in self.members if m.node == node), None)

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(e.meta.event_id for e in self.history)


def evolve(state: TaskState, event: TaskEvent | LogRetracted) -> TaskState:
    """The state after `event`; the same state when the event is already applied."""
    if isinstance(event, LogRetracted):
        return _retract(state, event)
    if event.task_id != state.task_id:
        raise WrongTask(
            f"event {event.meta.event_id} is of task {event.task_id}, not {state.task_id}"
        )
    if already_applied(state, event.meta):
        return state
    status = next_status(state.task_id, state.status, type(event))
    applied = _apply(replace(state, status=status), event)
    return replace(
        applied,
        chain_id=event.meta.chain_id,
        version=state.version + 1,
        position=event.meta.position,
        history=(*state.history, event),
    )


def replay(task_id: str, events: Iterable[TaskEvent | LogRetracted]) -> TaskState:
    state = TaskState(task_id)
    for event in events:
        state = evolve(state, event)
    return state


def already_applied(state: TaskState, meta: Meta) -> bool:
    if state.position is not None and meta.position <= state.position:
        return True
    if (meta.event_id, meta.block_hash) in state.retracted:
        return True  # a late copy of an event a reorg removed
    return meta.event_id in state.event_ids


def _retract(state: TaskState, retraction: LogRetracted) -> TaskState:
    keep = tuple(
        e
        for e in state.history
        if (e.meta.event_id, e.meta.block_hash) != (retraction.event_id, retraction.block_hash)
    )
    if len(keep) == len(state.history):
        return state
    rebuilt = replay(state.task_id, keep)
    return replace(
        rebuilt,
        version=state.version + 1,
        retracted=(*state.retracted, (retraction.event_id, retraction.block_hash)),
    )


def _with_member(state: TaskState, node: str, **changes: object) -> TaskState:
    member = state.member(node)
    if member is None:
        raise TransitionRejected(
            f"task {state.task_id}: node {node} is not among its selected nodes {list(state.nodes)}"
        )
    updated = replace(member, **changes)  # type: ignore[arg-type]
    return replace(state, members=tuple(updated if m.node == node else m for m in state.members))


def _ended(state: TaskState, meta: Meta) -> TaskState:
    return replace(
        state,
        deadline=None,
        members=tuple(replace(m, active=False) for m in state.members),
        times=replace(state.times, ended=meta.block_time_ms),
    )


def _apply(state: TaskState, event: TaskEvent) -> TaskState:  # noqa: PLR0912 (one case per event kind)
    """The fields `event` sets; the status is already the new one."""
    at = event.meta.block_time_ms
    match event:
        case TaskCreated():
            return replace(
                state,
                creator=event.creator,
                task_type=event.task_type,
                args_hash=event.args_hash,
                model_ids=event.model_ids,
                min_vram=event.min_vram,
                vram_tier=event.vram_tier,
                fee=event.fee,
                timeouts=event.timeouts,
                times=replace(state.times, created=at),
            )
        case TaskQueued():
            return replace(
                state, deadline=event.queue_deadline, times=replace(state.times, queued=at)
            )
        case NodeSelected():
            others = tuple(m for m in state.members if m.slot != event.slot)
            chosen = sorted((*others, Member(event.node, event.slot)), key=lambda m: m.slot)
            return replace(state, members=tuple(chosen))
        case TaskStarted():
            # NodeSelected comes first in the same transaction; the nodes listed here are the
            # truth should the two ever disagree.
            members = tuple(
                m
                if (m := state.member(node)) is not None and m.slot == slot
                else Member(node, slot)
                for slot, node in enumerate(event.nodes)
            )
            return replace(
                state,
                members=members,
                seed=event.seed,
                deadline=event.commit_deadline,
                times=replace(state.times, started=at),
            )
        case CommitmentSubmitted():
            return _with_member(
                state, event.node, commitment=event.commitment, commit_order=event.commit_order
            )
        case DisclosureOpened():
            return replace(
                state,
                deadline=event.disclose_deadline,
                times=replace(state.times, disclosing=at),
            )
        case ResultDisclosed():
            return _with_member(state, event.node, result=event.result, error_code=event.error_code)
        case TaskValidated():
            return replace(
                state,
                result_node=event.result_node,
                result=event.result,
                agreeing_nodes=event.agreeing_nodes,
                deadline=event.upload_deadline,
                times=replace(state.times, validated=at),
            )
        case DeliveryReassigned():
            return replace(state, result_node=event.result_node, deadline=event.upload_deadline)
        case NodePenalized():
            return _with_member(
                state, event.node, fault=event.fault, penalty=event.amount, active=False
            )
        case TaskCompleted():
            paid = dict(zip(event.nodes, event.payouts, strict=True))
            state = replace(
                state,
                result_node=event.result_node,
                members=tuple(replace(m, payout=paid.get(m.node, 0)) for m in state.members),
            )
            return _ended(state, event.meta)
        case TaskAborted():
            return _ended(
                replace(state, abort_reason=event.reason, refund=event.refund), event.meta
            )
        case TaskCancelled():
            state = replace(state, abort_reason=AbortReason.CREATOR_CANCELLED, refund=event.refund)
            return _ended(state, event.meta)
        case TaskExpired():
            # The table already checked that this status may expire; `phase` is the status the
            # contract saw, and the two must agree.
            if event.phase is not state.status:
                raise TransitionRejected(
                    f"task {state.task_id}: TaskExpired for phase {event.phase.label}"
                    f" while the task is {state.status.label}"
                )
            return replace(state, expirations=(*state.expirations, (event.phase, event.deadline)))
