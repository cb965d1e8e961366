"""The node read model: one node's registry record and its record of work.

Inputs come from two topics:

- NodeRegistry events on `chain.node-events`, keyed by node address: status (NodeStatusChanged
  is the one source of it), stake, GPU, VRAM, tier, models;
- facts about the node that TaskManager events imply, which live on `chain.task-events` keyed
  by task id. `node_facts(task_event)` maps one task event to the facts it implies, each
  addressed to one node, so the faust layer re-keys them by node address and feeds them here:
  NodeSelected -> NodeAssigned (tasks), TaskCompleted -> NodePaid (successes, earnings),
  NodePenalized -> NodeDismissed (slashes for Outvoted, timeouts for a missed deadline).
  Slashes are counted from NodeDismissed(Outvoted) only; NodeSlashed sets the stake, so the two
  never count one slash twice.

Duplicates. Registry events of one node come in chain order, so one at or before the last
applied position is a redelivery. Derived facts come from many task partitions and interleave
in no chain order, so they are recognised by event id alone; their effects are counts, which
commute, so their order does not matter.

Reorganizations. A node's history is unbounded, so the state keeps only its last
RECENT_LIMIT inputs (`recent`) on top of a `base` state that folds everything older. A
retraction of a kept input folds `base` + the remaining inputs again (versions still grow by
one); a retraction older than what is kept raises RetractionTooDeep and the node must be
rebuilt from the topics. A retraction of an input not applied yet is remembered and the input
dropped when it comes: the faust layer routes a fact and its retraction by different agents,
so the retraction may come first. Reorgs reach a few blocks back and a node sees a handful of
events per task, so RECENT_LIMIT inputs reach far past any reorg the ingest window allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypeAlias

from streams.domain.errors import NodeStatusMismatch, RetractionTooDeep, WrongTask
from streams.domain.events import (
    LogRetracted,
    Meta,
    NodeEvent,
    NodeFined,
    NodeJoined,
    NodePenalized,
    NodeSelected,
    NodeSlashed,
    NodeStatusChanged,
    Position,
    StakeAdded,
    StakeReturned,
    TaskCompleted,
    TaskEvent,
)
from streams.domain.protocol import Fault, NodeStatus
from streams.domain.task import TaskState

RECENT_LIMIT = 256
_HELD = frozenset({NodeStatus.BUSY, NodeStatus.PENDING_PAUSE, NodeStatus.PENDING_QUIT})


@dataclass(frozen=True)
class NodeAssigned:
    """The node was selected for a task (from NodeSelected)."""

    meta: Meta
    node: str
    task_id: str


@dataclass(frozen=True)
class NodePaid:
    """The node agreed with the validated result and was paid (from TaskCompleted)."""

    meta: Meta
    node: str
    task_id: str
    amount: int
    delivered: bool  # it was the node that uploaded the result


@dataclass(frozen=True)
class NodeDismissed:
    """The node was dismissed from a task for `fault` (from NodePenalized)."""

    meta: Meta
    node: str
    task_id: str
    fault: Fault
    amount: int


NodeFact: TypeAlias = NodeAssigned | NodePaid | NodeDismissed
NodeInput: TypeAlias = NodeEvent | NodeFact


def node_facts(event: TaskEvent) -> tuple[NodeFact, ...]:
    """What a task event says about nodes: one fact per node concerned, none for most."""
    match event:
        case NodeSelected():
            return (NodeAssigned(event.meta, event.node, event.task_id),)
        case TaskCompleted():
            return tuple(
                NodePaid(event.meta, node, event.task_id, amount, node == event.result_node)
                for node, amount in zip(event.nodes, event.payouts, strict=True)
            )
        case NodePenalized():
            return (
                NodeDismissed(event.meta, event.node, event.task_id, event.fault, event.amount),
            )
        case _:
            return ()


def node_retractions(
    task: TaskState, retraction: LogRetracted
) -> tuple[tuple[str, LogRetracted], ...]:
    """The (node, retraction) pairs to send to nodes when a task event is retracted.

    Call it with the task state from before the retraction: it holds the event, and so knows
    which nodes its facts went to.
    """
    for event in task.history:
        if (event.meta.event_id, event.meta.block_hash) == (
            retraction.event_id,
            retraction.block_hash,
        ):
            return tuple((fact.node, retraction) for fact in node_facts(event))
    return ()


@dataclass(frozen=True)
class NodeState:
    address: str
    chain_id: int | None = None
    status: NodeStatus = NodeStatus.NONE
    stake: int = 0  # wei
    gpu_name: str = ""
    vram: int = 0  # GB
    tier: int = 0
    model_ids: tuple[str, ...] = ()
    current_task: str | None = None  # the task holding it while Busy / PendingPause / PendingQuit
    tasks: int = 0
    successes: int = 0
    slashes: int = 0
    timeouts: int = 0
    deliveries: int = 0
    earned: int = 0  # wei credited for completed tasks
    fined: int = 0  # wei fined for missed deadlines
    joined_at: int | None = None  # epoch ms of the last NodeJoined
    updated_at: int | None = None  # epoch ms of the last input's block
    version: int = 0
    position: Position | None = None  # of the last registry event
    recent: tuple[NodeInput, ...] = ()
    base: NodeState | None = None  # everything older than `recent`, folded
    retracted: tuple[tuple[str, str], ...] = ()  # (event_id, block_hash)


def evolve(state: NodeState, event: NodeInput | LogRetracted) -> NodeState:
    """The state after `event`; the same state when the event is already applied."""
    if isinstance(event, LogRetracted):
        return _retract(state, event)
    if event.node != state.address:
        raise WrongTask(f"event {event.meta.event_id} is of node {event.node}, not {state.address}")
    if already_applied(state, event):
        return state
    applied = _apply(state, event)
    recent: tuple[NodeInput, ...] = (*state.recent, event)
    base = state.base
    if len(recent) > RECENT_LIMIT:
        base = _apply(base or NodeState(state.address), recent[0])
        recent = recent[1:]
    return replace(applied, version=state.version + 1, recent=recent, base=base)


def replay(address: str, events: Iterable[NodeInput | LogRetracted]) -> NodeState:
    state = NodeState(address)
    for event in events:
        state = evolve(state, event)
    return state


def already_applied(state: NodeState, event: NodeInput) -> bool:
    meta = event.meta
    registry_event = not isinstance(event, NodeAssigned | NodePaid | NodeDismissed)
    if registry_event and state.position is not None and meta.position <= state.position:
        return True
    if (meta.event_id, meta.block_hash) in state.retracted:
        return True
    return any(e.meta.event_id == meta.event_id and type(e) is type(event) for e in state.recent)


def _retract(state: NodeState, retraction: LogRetracted) -> NodeState:
    target = (retraction.event_id, retraction.block_hash)
    if target in state.retracted:
        return state  # a redelivery
    keep = tuple(e for e in state.recent if (e.meta.event_id, e.meta.block_hash) != target)
    if len(keep) == len(state.recent):
        oldest = min((e.meta.block_number for e in state.recent), default=None)
        if state.base is not None and (oldest is None or retraction.block_number < oldest):
            raise RetractionTooDeep(
                f"node {state.address}: event {retraction.event_id} (block"
                f" {retraction.block_number}) may be among the inputs folded into the base;"
                f" rebuild the node from its topics"
            )
        # Not applied yet: a fact and its retraction may come by different routes, the
        # retraction first. Remembered, so that the fact is dropped when it comes.
        return replace(state, retracted=(*state.retracted, target))
    rebuilt = state.base or NodeState(state.address)
    for event in keep:
        rebuilt = _apply(rebuilt, event)
    return replace(
        rebuilt,
        version=state.version + 1,
        recent=keep,
        base=state.base,
        retracted=(*state.retracted, target),
    )


def _apply(state: NodeState, event: NodeInput) -> NodeState:
    """The fields `event` sets (no bookkeeping of versions or history)."""
    state = replace(state, chain_id=event.meta.chain_id, updated_at=event.meta.block_time_ms)
    match event:
        case NodeAssigned():
            return replace(state, tasks=state.tasks + 1)
        case NodePaid():
            return replace(
                state,
                successes=state.successes + 1,
                earned=state.earned + event.amount,
                deliveries=state.deliveries + event.delivered,
            )
        case NodeDismissed():
            if event.fault is Fault.OUTVOTED:
                return replace(state, slashes=state.slashes + 1)
            return replace(state, timeouts=state.timeouts + 1)
    state = replace(state, position=event.meta.position)
    match event:
        case NodeJoined():
            return replace(
                state,
                gpu_name=event.gpu_name,
                vram=event.vram,
                tier=event.tier,
                model_ids=event.model_ids,
                stake=event.stake,
                joined_at=event.meta.block_time_ms,
            )
        case StakeAdded():
            return replace(state, stake=event.stake)
        case NodeStatusChanged():
            if event.from_status is not state.status:
                raise NodeStatusMismatch(
                    f"node {state.address}: NodeStatusChanged {event.meta.event_id} moves it from"
                    f" {event.from_status.name}, but the read model has it {state.status.name}"
                )
            held = event.to_status in _HELD and event.task_id != "0"
            return replace(
                state,
                status=event.to_status,
                current_task=event.task_id if held else None,
            )
        case NodeSlashed():
            return replace(state, stake=0)
        case NodeFined():
            return replace(state, stake=event.stake_left, fined=state.fined + event.amount)
        case StakeReturned():
            return replace(state, stake=0)
