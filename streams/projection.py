"""Pure helpers of the Postgres projector: messages in, typed events and table rows out.

No I/O here. `read_message` turns one Kafka message into a typed chain event (or a Rejected
that names why not); `task_row` and `node_row` turn the domain's read models into the rows of
`tasks` and `nodes`; `event_row` turns an applied event into its `task_events` /
`node_events` row; `node_inputs` puts a node's inputs in the one order its refold uses.

Rows carry block times, never the projector's clock, so the same events always give the same
rows: that is what makes `hydrogen events replay` identical to the live tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from schemas.catalog import CHAIN_NODE_EVENTS, CHAIN_TASK_EVENTS
from schemas.codec import Codec
from schemas.errors import DecodeError
from streams.domain import node
from streams.domain.errors import DomainError
from streams.domain.events import (
    RECORD_NAMES,
    ChainEvent,
    LogRetracted,
    Meta,
    NodeEvent,
    TaskEvent,
    parse,
)
from streams.domain.node import NodeInput, NodeState, node_facts
from streams.domain.task import TaskState


@dataclass(frozen=True)
class Message:
    """One consumed Kafka message, as the projector needs it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    def where(self) -> str:
        return f"topic={self.topic} partition={self.partition} offset={self.offset}"


@dataclass(frozen=True)
class Read:
    """A message that decoded into a typed chain event."""

    message: Message
    record_name: str
    record: dict[str, Any]
    event: ChainEvent


class Rejected(Exception):
    """A message the projector cannot use; recorded as a dead letter with this reason."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(f"{error_type}: {reason}")
        self.error_type = error_type
        self.reason = reason


def rejected(exc: Exception) -> Rejected:
    return Rejected(type(exc).__name__, str(exc))


def read_message(codec: Codec, message: Message) -> Read | None:
    """Decode and parse `message`; None for a record no read model folds (the contracts'
    bookkeeping, e.g. TaskManagerCredited); Rejected when it is not a chain event we can use."""
    if message.value is None:
        raise Rejected("DecodeError", "a message with no value (tombstone)")
    try:
        name, record = codec.decode(message.value)
        if name not in RECORD_NAMES:
            return None
        event = parse(name, record)
    except (DecodeError, DomainError) as exc:
        raise rejected(exc) from exc
    return Read(message, name, record, event)


@dataclass(frozen=True)
class Route:
    """Which read model an event changes: a task or a node, on one chain."""

    kind: Literal["task", "node"]
    chain_id: int
    subject: str  # task id or node address


def route(read: Read) -> Route:
    """Where `read` goes; Rejected when its record does not belong on its topic.

    A LogRetracted names no task or node itself: it travels on the topic and key of the
    event it retracts, so the key says whose it is.
    """
    event, topic = read.event, read.message.topic
    if isinstance(event, LogRetracted):
        if topic in (CHAIN_TASK_EVENTS.name, CHAIN_NODE_EVENTS.name):
            kind: Literal["task", "node"] = "task" if topic == CHAIN_TASK_EVENTS.name else "node"
            return Route(kind, event.chain_id, key_text(read.message))
    elif topic == CHAIN_TASK_EVENTS.name and isinstance(event, TaskEvent):
        return Route("task", event.meta.chain_id, event.task_id)
    elif topic == CHAIN_NODE_EVENTS.name and isinstance(event, NodeEvent):
        return Route("node", event.meta.chain_id, event.node)
    raise Rejected("WrongTopic", f"a {read.record_name} record does not belong on {topic}")


def key_text(message: Message) -> str:
    """The message key as text (a task id or node address); Rejected when there is none."""
    if message.key is None:
        raise Rejected("MissingKey", f"a {message.topic} message must have a key")
    try:
        return message.key.decode()
    except UnicodeDecodeError as exc:
        raise Rejected("MissingKey", f"key {message.key!r} is not UTF-8") from exc


def as_json(value: Any) -> Any:
    """A decoded Avro record as JSON: bytes as 0x-hex, times as ISO 8601."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


def at_ms(ms: int | None) -> datetime | None:
    """Epoch milliseconds as an aware UTC datetime (timestamptz)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def at_s(seconds: int | None) -> datetime | None:
    """Chain seconds (contract deadlines) as an aware UTC datetime."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


_ACRONYMS = frozenset({"SD", "LLM"})


def label(value: Enum) -> str:
    """An enum as the contracts spell it: NO_CONSENSUS -> NoConsensus, SD -> SD."""
    if value.name in _ACRONYMS:
        return value.name
    return "".join(part.title() for part in value.name.split("_"))


def fact_nodes(event: TaskEvent) -> tuple[str, ...]:
    """The nodes a task event says something about, each once, in the event's order."""
    return tuple(dict.fromkeys(fact.node for fact in node_facts(event)))


def event_row(read: Read, subject: str) -> dict[str, Any]:
    """The `task_events` / `node_events` row of an applied event; `subject` is the task id
    or node address it belongs to."""
    event = read.event
    if isinstance(event, LogRetracted):
        raise ValueError(f"a LogRetracted ({event.event_id}) marks a row, it is not one")
    meta: Meta = event.meta
    row: dict[str, Any] = {
        "event_id": meta.event_id,
        "block_hash": meta.block_hash,
        "chain_id": meta.chain_id,
        "subject": subject,
        "record_name": read.record_name,
        "block_number": meta.block_number,
        "log_index": meta.log_index,
        "block_time": at_ms(meta.block_time_ms),
        "tx_hash": meta.tx_hash,
        "record": as_json(read.record),
        "message": read.message.value,
        "kafka_partition": read.message.partition,
        "kafka_offset": read.message.offset,
    }
    if not isinstance(event, NodeEvent):
        row["nodes"] = list(fact_nodes(event))
    return row


def task_row(chain_id: int, state: TaskState) -> dict[str, Any]:
    """The `tasks` row of a task's state."""
    last = state.history[-1].meta if state.history else None
    ended = state.status.terminal
    return {
        "chain_id": chain_id,
        "task_id": state.task_id,
        "status": state.status.label,
        "abort_reason": label(state.abort_reason) if state.abort_reason.value else None,
        "creator": state.creator,
        "task_type": label(state.task_type) if state.task_type is not None else None,
        "args_hash": state.args_hash or None,
        "model_ids": list(state.model_ids),
        "min_vram": state.min_vram,
        "vram_tier": state.vram_tier,
        "fee": state.fee,
        "selected_nodes": [m.node for m in state.members],
        "agreeing_nodes": list(state.agreeing_nodes),
        "result_node": state.result_node,
        "result": state.result,
        "payouts": [m.payout for m in state.members] if ended else [],
        "penalties": [m.penalty for m in state.members],
        "refund": state.refund,
        "created_at": at_ms(state.times.created),
        "queued_at": at_ms(state.times.queued),
        "started_at": at_ms(state.times.started),
        "disclosing_at": at_ms(state.times.disclosing),
        "validated_at": at_ms(state.times.validated),
        "ended_at": at_ms(state.times.ended),
        "deadline": at_s(state.deadline),
        "version": state.version,
        "last_event_id": last.event_id if last else None,
        "last_block_number": last.block_number if last else None,
        "last_log_index": last.log_index if last else None,
        "updated_at": at_ms(last.block_time_ms) if last else None,
    }


def node_row(chain_id: int, state: NodeState) -> dict[str, Any]:
    """The `nodes` row of a node's state."""
    return {
        "chain_id": chain_id,
        "address": state.address,
        "status": label(state.status),
        "stake": state.stake,
        "gpu_name": state.gpu_name,
        "vram": state.vram,
        "tier": state.tier,
        "model_ids": list(state.model_ids),
        "current_task": state.current_task,
        "tasks": state.tasks,
        "successes": state.successes,
        "slashes": state.slashes,
        "timeouts": state.timeouts,
        "deliveries": state.deliveries,
        "earned": state.earned,
        "fined": state.fined,
        "joined_at": at_ms(state.joined_at),
        "version": state.version,
        "updated_at": at_ms(state.updated_at),
    }


def node_inputs(
    address: str, registry: Iterable[NodeEvent], task_events: Iterable[TaskEvent]
) -> list[NodeInput]:
    """Everything a node's state folds, in chain order.

    Its registry events come in chain order on one partition, but the facts that task events
    imply come from six partitions in whatever order the projector happened to read them.
    Folding both in chain order (block number, log index) gives one state whatever that order
    was, so a replay gives the same row as the live projection.
    """
    facts = [f for e in task_events for f in node_facts(e) if f.node == address]
    inputs: list[NodeInput] = [*registry, *facts]
    return sorted(inputs, key=lambda i: i.meta.position)


def fold_node(
    address: str, inputs: Iterable[NodeInput]
) -> tuple[NodeState, list[tuple[NodeInput, DomainError]]]:
    """The node's state after `inputs`, and the inputs the domain refused, each with why.

    Each input was accepted when it was read, so a refusal can only come from a reorg half
    retracted: an early event gone while later ones still stand, until their own
    retractions arrive. Skipping the input (the same one on every fold) keeps the batch
    going; the next fold after the remaining retractions is whole again.
    """
    state = NodeState(address)
    refused = []
    for i in inputs:
        try:
            state = node.evolve(state, i)
        except DomainError as exc:
            refused.append((i, exc))
    return state, refused
