"""Chain event records as flat rows of typed values: one column per record field.

An export of task events (or node events) is one table for every kind of event, so its
columns are the union of the fields of those records: a TaskCreated row fills `fee` and
`task_type`, a NodePenalized row `node`, `fault` and `amount`, and leaves the others empty.
FIELDS below says, once per field, which column it goes to and how its value is typed:

- wei amounts (Avro strings of digits) become ints, stored as decimals;
- contract enums become the contracts' spelling (`task_type` SD, `fault` Outvoted, `reason`
  NoConsensus, `phase` Running, node status PendingQuit); a number the enum does not know yet
  stays a number written as text;
- deadlines in chain seconds become timestamps;
- bytes become 0x-hex text;
- nested records are spread over one column per field (`timeouts.commit` -> `timeouts_commit_s`).

A record field that FIELDS does not name is left out (a test checks that every field of every
chain event has its column, so a schema change shows up there first).

Records come either as `Codec.decode` returns them (bytes, ints) or as the projection stores
them in `task_events.record` (`streams.projection.as_json`: bytes already 0x-hex); both give
the same row. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from hydrogen.analytics.columns import EVENT_META_COLUMNS, Column, Kind
from streams.domain.protocol import AbortReason, Fault, NodeStatus, TaskStatus, TaskType
from streams.projection import label

# Fields of every chain record that say where it sits on the chain: the meta columns hold
# them, or (the emitting contract) no column does.
CHAIN_META_FIELDS = frozenset(
    {
        "event_id",
        "chain_id",
        "contract",
        "block_number",
        "block_hash",
        "block_time",
        "tx_hash",
        "log_index",
    }
)


def _text(value: Any) -> str:
    return str(value)


def _int(value: Any) -> int:
    return int(value)


def _wei(value: Any) -> int:
    return int(value)


def _wei_list(value: Any) -> list[int]:
    return [int(v) for v in value]


def _text_list(value: Any) -> list[str]:
    return [str(v) for v in value]


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    return str(value)  # already 0x-hex in the projection's JSON


def _chain_seconds(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


def _enum(kind: type[IntEnum]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        try:
            return label(kind(int(value)))
        except ValueError:
            return str(value)  # a member added on chain after this build

    return convert


@dataclass(frozen=True)
class Field:
    """Record field `source` (nested fields joined by '_') goes to `column`, typed by `convert`."""

    source: str
    column: str
    kind: Kind
    convert: Callable[[Any], Any]


def _f(source: str, kind: Kind, convert: Callable[[Any], Any], column: str = "") -> Field:
    return Field(source, column or source, kind, convert)


TEXT, INT, WEI, TIMESTAMP = Kind.TEXT, Kind.INT, Kind.WEI, Kind.TIMESTAMP

# Fields of TaskManager's events (chain.task-events), in the order a task meets them.
TASK_EVENT_FIELDS: tuple[Field, ...] = (
    _f("creator", TEXT, _text),
    _f("task_type", TEXT, _enum(TaskType)),
    _f("args_hash", TEXT, _hex),
    _f("model_ids", Kind.TEXT_LIST, _text_list),
    _f("min_vram", INT, _int),
    _f("vram_tier", INT, _int),
    _f("fee", WEI, _wei),
    _f("timeouts_queue", INT, _int, "timeouts_queue_s"),
    _f("timeouts_commit", INT, _int, "timeouts_commit_s"),
    _f("timeouts_disclose", INT, _int, "timeouts_disclose_s"),
    _f("timeouts_upload", INT, _int, "timeouts_upload_s"),
    _f("queue_deadline", TIMESTAMP, _chain_seconds),
    _f("node", TEXT, _text),
    _f("slot", INT, _int),
    _f("nodes", Kind.TEXT_LIST, _text_list),
    _f("seed", TEXT, _text),
    _f("commit_deadline", TIMESTAMP, _chain_seconds),
    _f("commitment", TEXT, _hex),
    _f("commit_order", INT, _int),
    _f("disclose_deadline", TIMESTAMP, _chain_seconds),
    _f("result", TEXT, _hex),
    _f("error_code", INT, _int),
    _f("result_node", TEXT, _text),
    _f("agreeing_nodes", Kind.TEXT_LIST, _text_list),
    _f("upload_deadline", TIMESTAMP, _chain_seconds),
    _f("fault", TEXT, _enum(Fault)),
    _f("amount", WEI, _wei),
    _f("payouts", Kind.WEI_LIST, _wei_list),
    _f("reason", TEXT, _enum(AbortReason)),
    _f("refund", WEI, _wei),
    _f("phase", TEXT, _enum(TaskStatus)),
    _f("deadline", TIMESTAMP, _chain_seconds),
)

# Fields of NodeRegistry's events (chain.node-events).
NODE_EVENT_FIELDS: tuple[Field, ...] = (
    _f("gpu_name", TEXT, _text),
    _f("vram", INT, _int),
    _f("tier", INT, _int),
    _f("model_ids", Kind.TEXT_LIST, _text_list),
    _f("stake", WEI, _wei),
    _f("task_id", TEXT, _text),
    _f("from", TEXT, _enum(NodeStatus), "from_status"),
    _f("to", TEXT, _enum(NodeStatus), "to_status"),
    _f("amount", WEI, _wei),
    _f("stake_left", WEI, _wei),
)


@dataclass(frozen=True)
class EventTable:
    """One export of chain events: the column that names the subject, then the fields."""

    subject: str  # task_id or node: a column of its own, read from the projection's row
    fields: tuple[Field, ...]

    @property
    def meta_columns(self) -> tuple[Column, ...]:
        """Where the event sits, with the subject third (after time and chain)."""
        return (*EVENT_META_COLUMNS[:2], Column(self.subject, Kind.TEXT), *EVENT_META_COLUMNS[2:])

    @property
    def columns(self) -> tuple[Column, ...]:
        return (*self.meta_columns, *(Column(f.column, f.kind) for f in self.fields))

    @property
    def skipped(self) -> frozenset[str]:
        """Record fields that no field column holds: the meta columns have them."""
        return CHAIN_META_FIELDS | {self.subject}

    def row(self, meta: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        """The flat row of one event: `meta` holds the meta columns (as the projection's row
        has them), `record` the event record."""
        row: dict[str, Any] = {c.name: meta.get(c.name) for c in self.meta_columns}
        flat = flatten(record)
        for f in self.fields:
            value = flat.get(f.source)
            row[f.column] = None if value is None else f.convert(value)
        return row


TASK_EVENTS = EventTable("task_id", TASK_EVENT_FIELDS)
NODE_EVENTS = EventTable("node", NODE_EVENT_FIELDS)


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested records spread into one level, their names joined by '_':
    {"timeouts": {"queue": 600}} -> {"timeouts_queue": 600}. Lists stay lists."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{key}_"))
        else:
            out[key] = value
    return out
