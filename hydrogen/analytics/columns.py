"""The typed columns of an export, and the Arrow type of each kind of value.

Wei amounts are decimal128(38, 0): exact, summable in every Parquet reader (DuckDB, Spark and
pandas stop at 38 digits), and wide enough for 10^20 ETH, far more than any fee, stake or
payout can hold. A value past it is refused by name (`export_file`), never rounded.
Timestamps are UTC, in microseconds like Postgres' timestamptz.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pyarrow as pa

WEI_DIGITS = 38


class Kind(Enum):
    TEXT = "text"
    INT = "int"
    TIMESTAMP = "timestamp"
    WEI = "wei"
    TEXT_LIST = "text list"
    WEI_LIST = "wei list"

    @property
    def arrow(self) -> pa.DataType:
        return _ARROW[self]

    @property
    def is_list(self) -> bool:
        return self in (Kind.TEXT_LIST, Kind.WEI_LIST)


WEI_TYPE = pa.decimal128(WEI_DIGITS, 0)
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
_ARROW: dict[Kind, pa.DataType] = {
    Kind.TEXT: pa.string(),
    Kind.INT: pa.int64(),
    Kind.TIMESTAMP: TIMESTAMP_TYPE,
    Kind.WEI: WEI_TYPE,
    Kind.TEXT_LIST: pa.list_(pa.string()),
    Kind.WEI_LIST: pa.list_(WEI_TYPE),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.kind.arrow) for c in columns])


# One row per status change of a task (the view analytics.task_status_changes), with the
# task's own attributes beside it.
TASK_HISTORY_COLUMNS: tuple[Column, ...] = (
    Column("changed_at", Kind.TIMESTAMP),
    Column("chain_id", Kind.INT),
    Column("task_id", Kind.TEXT),
    Column("step", Kind.INT),
    Column("from_status", Kind.TEXT),
    Column("to_status", Kind.TEXT),
    Column("abort_reason", Kind.TEXT),
    Column("phase_ms", Kind.INT),
    Column("since_created_ms", Kind.INT),
    Column("task_type", Kind.TEXT),
    Column("creator", Kind.TEXT),
    Column("model_ids", Kind.TEXT_LIST),
    Column("fee", Kind.WEI),
)

# Where an event sits on the chain; the first columns of task-events and node-events.
EVENT_META_COLUMNS: tuple[Column, ...] = (
    Column("block_time", Kind.TIMESTAMP),
    Column("chain_id", Kind.INT),
    Column("record_name", Kind.TEXT),
    Column("event_id", Kind.TEXT),
    Column("block_number", Kind.INT),
    Column("log_index", Kind.INT),
    Column("tx_hash", Kind.TEXT),
    Column("block_hash", Kind.TEXT),
)
