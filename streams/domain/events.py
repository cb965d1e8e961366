"""Typed views of the chain records the domain folds: one frozen dataclass per event.

Records arrive as the dicts `schemas.codec` decodes (the Avro records of `schemas/avro/`):
an envelope (event_id, chain_id, contract, block_number, block_hash, block_time, tx_hash,
log_index) and the event's fields in snake_case, uint256 values as decimal strings. `parse`
turns one into its dataclass once, at the border, so the state machines work with ints, enums
and tuples and never look a field up by name. A record that does not fit raises
MalformedRecord naming the record, the field and the value.

`LogRetracted` has no envelope of its own: it names an event (by event_id and block hash) that
a reorganization removed from the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

from streams.domain.errors import MalformedRecord, UnknownRecord
from streams.domain.protocol import AbortReason, Fault, NodeStatus, TaskStatus, TaskType

Position: TypeAlias = tuple[int, int]  # (block_number, log_index): order on one chain


@dataclass(frozen=True)
class Meta:
    """Where an event sits on the chain."""

    event_id: str
    chain_id: int
    contract: str
    block_number: int
    block_hash: str
    block_time_ms: int
    tx_hash: str
    log_index: int

    @property
    def position(self) -> Position:
        return (self.block_number, self.log_index)


@dataclass(frozen=True)
class Timeouts:
    """Phase lengths in seconds, as the task was created with."""

    queue: int
    commit: int
    disclose: int
    upload: int


# ---- TaskManager events (chain.task-events, keyed by task id) ----


@dataclass(frozen=True)
class TaskCreated:
    meta: Meta
    task_id: str
    creator: str
    task_type: TaskType
    args_hash: bytes
    model_ids: tuple[str, ...]
    min_vram: int
    vram_tier: int
    fee: int
    timeouts: Timeouts


@dataclass(frozen=True)
class TaskQueued:
    meta: Meta
    task_id: str
    queue_deadline: int


@dataclass(frozen=True)
class NodeSelected:
    meta: Meta
    task_id: str
    node: str
    slot: int


@dataclass(frozen=True)
class TaskStarted:
    meta: Meta
    task_id: str
    nodes: tuple[str, ...]
    commit_deadline: int
    seed: int


@dataclass(frozen=True)
class CommitmentSubmitted:
    meta: Meta
    task_id: str
    node: str
    commitment: bytes
    commit_order: int


@dataclass(frozen=True)
class DisclosureOpened:
    meta: Meta
    task_id: str
    nodes: tuple[str, ...]
    disclose_deadline: int


@dataclass(frozen=True)
class ResultDisclosed:
    meta: Meta
    task_id: str
    node: str
    result: bytes
    error_code: int


@dataclass(frozen=True)
class TaskValidated:
    meta: Meta
    task_id: str
    result_node: str
    result: bytes
    agreeing_nodes: tuple[str, ...]
    upload_deadline: int


@dataclass(frozen=True)
class DeliveryReassigned:
    meta: Meta
    task_id: str
    result_node: str
    upload_deadline: int


@dataclass(frozen=True)
class NodePenalized:
    meta: Meta
    task_id: str
    node: str
    fault: Fault
    amount: int


@dataclass(frozen=True)
class TaskCompleted:
    meta: Meta
    task_id: str
    result_node: str
    nodes: tuple[str, ...]
    payouts: tuple[int, ...]


@dataclass(frozen=True)
class TaskAborted:
    meta: Meta
    task_id: str
    reason: AbortReason
    refund: int


@dataclass(frozen=True)
class TaskCancelled:
    meta: Meta
    task_id: str
    creator: str
    refund: int


@dataclass(frozen=True)
class TaskExpired:
    meta: Meta
    task_id: str
    phase: TaskStatus
    deadline: int


TaskEvent: TypeAlias = (
    TaskCreated
    | TaskQueued
    | NodeSelected
    | TaskStarted
    | CommitmentSubmitted
    | DisclosureOpened
    | ResultDisclosed
    | TaskValidated
    | DeliveryReassigned
    | NodePenalized
    | TaskCompleted
    | TaskAborted
    | TaskCancelled
    | TaskExpired
)

# ---- NodeRegistry events (chain.node-events, keyed by node address) ----


@dataclass(frozen=True)
class NodeJoined:
    meta: Meta
    node: str
    gpu_name: str
    vram: int
    tier: int
    model_ids: tuple[str, ...]
    stake: int


@dataclass(frozen=True)
class StakeAdded:
    meta: Meta
    node: str
    amount: int
    stake: int


@dataclass(frozen=True)
class NodeStatusChanged:
    meta: Meta
    node: str
    task_id: str  # "0" when no task caused the change
    from_status: NodeStatus
    to_status: NodeStatus


@dataclass(frozen=True)
class NodeSlashed:
    meta: Meta
    node: str
    task_id: str
    amount: int


@dataclass(frozen=True)
class NodeFined:
    meta: Meta
    node: str
    task_id: str
    amount: int
    stake_left: int


@dataclass(frozen=True)
class StakeReturned:
    meta: Meta
    node: str
    task_id: str
    amount: int


NodeEvent: TypeAlias = (
    NodeJoined | StakeAdded | NodeStatusChanged | NodeSlashed | NodeFined | StakeReturned
)


@dataclass(frozen=True)
class LogRetracted:
    """The event `event_id`, once published from block `block_hash`, is off the chain."""

    event_id: str
    record: str
    chain_id: int
    block_number: int
    block_hash: str
    fork_block_number: int
    detected_at_ms: int


ChainEvent: TypeAlias = TaskEvent | NodeEvent | LogRetracted

# ---- parsing ----


class _Fields:
    """Reads one record's fields, naming the record and field in any error."""

    def __init__(self, name: str, record: Mapping[str, Any]) -> None:
        self.name = name
        self.record = record

    def _get(self, field: str) -> Any:
        try:
            return self.record[field]
        except KeyError:
            raise MalformedRecord(f"{self.name} record has no field {field!r}") from None

    def _bad(self, field: str, want: str, value: Any) -> MalformedRecord:
        return MalformedRecord(f"{self.name}.{field} must be {want}, got {value!r}")

    def str_(self, field: str) -> str:
        value = self._get(field)
        if not isinstance(value, str):
            raise self._bad(field, "a string", value)
        return value

    def int_(self, field: str) -> int:
        value = self._get(field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(field, "an integer", value)
        return value

    def uint(self, field: str) -> int:
        """A uint256 carried as a decimal string."""
        return _decimal(self._get(field), lambda v: self._bad(field, "a decimal string", v))

    def uints(self, field: str) -> tuple[int, ...]:
        values = self._get(field)
        if not isinstance(values, Sequence) or isinstance(values, str | bytes):
            raise self._bad(field, "a list of decimal strings", values)
        return tuple(
            _decimal(v, lambda v: self._bad(field, "a list of decimal strings", v)) for v in values
        )

    def bytes_(self, field: str) -> bytes:
        value = self._get(field)
        if not isinstance(value, bytes | bytearray | memoryview):
            raise self._bad(field, "bytes", value)
        return bytes(value)

    def strs(self, field: str) -> tuple[str, ...]:
        values = self._get(field)
        if not isinstance(values, Sequence) or isinstance(values, str | bytes):
            raise self._bad(field, "a list of strings", values)
        if not all(isinstance(v, str) for v in values):
            raise self._bad(field, "a list of strings", values)
        return tuple(values)

    def millis(self, field: str) -> int:
        # fastavro hands timestamp-millis back as an aware datetime; records built by hand
        # (tests, replays from JSON) carry the integer.
        value = self._get(field)
        if isinstance(value, datetime):
            return round(value.timestamp() * 1000)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(field, "epoch milliseconds", value)
        return value

    def enum(self, field: str, kind: Callable[[int], _E]) -> _E:
        value = self.int_(field)
        try:
            return kind(value)
        except ValueError:
            raise self._bad(field, f"a {getattr(kind, '__name__', 'enum')} value", value) from None

    def meta(self) -> Meta:
        return Meta(
            event_id=self.str_("event_id"),
            chain_id=self.int_("chain_id"),
            contract=self.str_("contract"),
            block_number=self.int_("block_number"),
            block_hash=self.str_("block_hash"),
            block_time_ms=self.millis("block_time"),
            tx_hash=self.str_("tx_hash"),
            log_index=self.int_("log_index"),
        )


_E = TypeVar("_E")


def _decimal(value: Any, bad: Callable[[Any], MalformedRecord]) -> int:
    if not isinstance(value, str) or not value.isdigit():
        raise bad(value)
    return int(value)


def _timeouts(f: _Fields) -> Timeouts:
    raw = f._get("timeouts")
    if not isinstance(raw, Mapping):
        raise f._bad("timeouts", "a record", raw)
    t = _Fields(f"{f.name}.timeouts", raw)
    return Timeouts(t.int_("queue"), t.int_("commit"), t.int_("disclose"), t.int_("upload"))


_PARSERS: dict[str, Callable[[_Fields], ChainEvent]] = {
    "TaskCreated": lambda f: TaskCreated(
        f.meta(),
        f.str_("task_id"),
        f.str_("creator"),
        f.enum("task_type", TaskType),
        f.bytes_("args_hash"),
        f.strs("model_ids"),
        f.int_("min_vram"),
        f.int_("vram_tier"),
        f.uint("fee"),
        _timeouts(f),
    ),
    "TaskQueued": lambda f: TaskQueued(f.meta(), f.str_("task_id"), f.int_("queue_deadline")),
    "NodeSelected": lambda f: NodeSelected(
        f.meta(), f.str_("task_id"), f.str_("node"), f.int_("slot")
    ),
    "TaskStarted": lambda f: TaskStarted(
        f.meta(), f.str_("task_id"), f.strs("nodes"), f.int_("commit_deadline"), f.uint("seed")
    ),
    "CommitmentSubmitted": lambda f: CommitmentSubmitted(
        f.meta(), f.str_("task_id"), f.str_("node"), f.bytes_("commitment"), f.int_("commit_order")
    ),
    "DisclosureOpened": lambda f: DisclosureOpened(
        f.meta(), f.str_("task_id"), f.strs("nodes"), f.int_("disclose_deadline")
    ),
    "ResultDisclosed": lambda f: ResultDisclosed(
        f.meta(), f.str_("task_id"), f.str_("node"), f.bytes_("result"), f.int_("error_code")
    ),
    "TaskValidated": lambda f: TaskValidated(
        f.meta(),
        f.str_("task_id"),
        f.str_("result_node"),
        f.bytes_("result"),
        f.strs("agreeing_nodes"),
        f.int_("upload_deadline"),
    ),
    "DeliveryReassigned": lambda f: DeliveryReassigned(
        f.meta(), f.str_("task_id"), f.str_("result_node"), f.int_("upload_deadline")
    ),
    "NodePenalized": lambda f: NodePenalized(
        f.meta(), f.str_("task_id"), f.str_("node"), f.enum("fault", Fault), f.uint("amount")
    ),
    "TaskCompleted": lambda f: TaskCompleted(
        f.meta(), f.str_("task_id"), f.str_("result_node"), f.strs("nodes"), f.uints("payouts")
    ),
    "TaskAborted": lambda f: TaskAborted(
        f.meta(), f.str_("task_id"), f.enum("reason", AbortReason), f.uint("refund")
    ),
    "TaskCancelled": lambda f: TaskCancelled(
        f.meta(), f.str_("task_id"), f.str_("creator"), f.uint("refund")
    ),
    "TaskExpired": lambda f: TaskExpired(
        f.meta(), f.str_("task_id"), f.enum("phase", TaskStatus), f.int_("deadline")
    ),
    "NodeJoined": lambda f: NodeJoined(
        f.meta(),
        f.str_("node"),
        f.str_("gpu_name"),
        f.int_("vram"),
        f.int_("tier"),
        f.strs("model_ids"),
        f.uint("stake"),
    ),
    "StakeAdded": lambda f: StakeAdded(f.meta(), f.str_("node"), f.uint("amount"), f.uint("stake")),
    "NodeStatusChanged": lambda f: NodeStatusChanged(
        f.meta(),
        f.str_("node"),
        f.str_("task_id"),
        f.enum("from", NodeStatus),
        f.enum("to", NodeStatus),
    ),
    "NodeSlashed": lambda f: NodeSlashed(
        f.meta(), f.str_("node"), f.str_("task_id"), f.uint("amount")
    ),
    "NodeFined": lambda f: NodeFined(
        f.meta(), f.str_("node"), f.str_("task_id"), f.uint("amount"), f.uint("stake_left")
    ),
    "StakeReturned": lambda f: StakeReturned(
        f.meta(), f.str_("node"), f.str_("task_id"), f.uint("amount")
    ),
    "LogRetracted": lambda f: LogRetracted(
        f.str_("event_id"),
        f.str_("record"),
        f.int_("chain_id"),
        f.int_("block_number"),
        f.str_("block_hash"),
        f.int_("fork_block_number"),
        f.millis("detected_at"),
    ),
}

RECORD_NAMES = frozenset(_PARSERS)


def parse(name: str, record: Mapping[str, Any]) -> ChainEvent:
    """The typed event of Avro record `name` (as `Codec.decode` returns it)."""
    parser = _PARSERS.get(name)
    if parser is None:
        raise UnknownRecord(
            f"no typed view for record {name!r}; known: {', '.join(sorted(_PARSERS))}"
        )
    return parser(_Fields(name, record))


def event_id(event: ChainEvent) -> str:
    return event.event_id if isinstance(event, LogRetracted) else event.meta.event_id
