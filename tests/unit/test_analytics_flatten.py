"""Chain event records as flat typed rows: `hydrogen events export --what task-events` and
`--what node-events`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from hydrogen.analytics.columns import EVENT_META_COLUMNS, TASK_HISTORY_COLUMNS, Kind
from hydrogen.analytics.flat_event import NODE_EVENTS, TASK_EVENTS, EventTable, flatten
from schemas.registry import SchemaRegistry
from streams.domain.events import NodeEvent, TaskEvent
from streams.projection import as_json

BLOCK_TIME = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
META = {
    "block_time": BLOCK_TIME,
    "chain_id": 31337,
    "task_id": "17",
    "node": "0x1111111111111111111111111111111111111111",
    "record_name": "TaskCreated",
    "event_id": "31337:0xab:0",
    "block_number": 100,
    "log_index": 0,
    "tx_hash": "0xab",
    "block_hash": "0xcd",
}
CREATED = {
    "event_id": "31337:0xab:0",
    "chain_id": 31337,
    "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "block_number": 100,
    "block_hash": "0xcd",
    "block_time": BLOCK_TIME,
    "tx_hash": "0xab",
    "log_index": 0,
    "task_id": "17",
    "creator": "0x9999999999999999999999999999999999999999",
    "task_type": 1,
    "args_hash": b"\x01\x02",
    "model_ids": ["llm:tiny-gpt2"],
    "min_vram": 8,
    "vram_tier": 0,
    "fee": "123456789012345678901234567890",
    "timeouts": {"queue": 600, "commit": 300, "disclose": 120, "upload": 30},
}


def test_nested_records_spread_into_columns_joined_by_underscores() -> None:
    assert flatten({"a": 1, "t": {"q": 2, "deep": {"x": [3]}}}) == {
        "a": 1,
        "t_q": 2,
        "t_deep_x": [3],
    }


def test_a_task_created_row_is_typed() -> None:
    row = TASK_EVENTS.row(META, CREATED)
    assert row["task_id"] == "17"
    assert row["block_time"] == BLOCK_TIME
    assert row["task_type"] == "LLM"
    assert row["fee"] == 123456789012345678901234567890
    assert row["args_hash"] == "0x0102"
    assert row["model_ids"] == ["llm:tiny-gpt2"]
    assert (row["timeouts_queue_s"], row["timeouts_upload_s"]) == (600, 30)
    assert row["node"] is None  # a field of other records


def test_a_record_as_the_projection_stores_it_gives_the_same_row() -> None:
    assert TASK_EVENTS.row(META, as_json(CREATED)) == TASK_EVENTS.row(META, CREATED)


def test_every_row_has_every_column_and_nothing_else() -> None:
    row = TASK_EVENTS.row(META, CREATED)
    assert list(row) == [c.name for c in TASK_EVENTS.columns]


@pytest.mark.parametrize(
    ("field", "value", "column", "expected"),
    [
        ("fault", 0, "fault", "Outvoted"),
        ("fault", 2, "fault", "MissedDisclose"),
        ("reason", 2, "reason", "NoConsensus"),
        ("reason", 5, "reason", "CreatorCancelled"),
        ("phase", 3, "phase", "Disclosing"),
        ("task_type", 0, "task_type", "SD"),
        ("fault", 99, "fault", "99"),  # a fault added on chain after this build
    ],
)
def test_contract_enums_are_spelled_as_the_contracts_do(
    field: str, value: int, column: str, expected: str
) -> None:
    assert TASK_EVENTS.row(META, {field: value})[column] == expected


def test_node_statuses_are_named_in_from_and_to_status() -> None:
    row = NODE_EVENTS.row(META, {"node": META["node"], "task_id": "0", "from": 2, "to": 5})
    assert (row["from_status"], row["to_status"]) == ("Busy", "PendingQuit")
    assert row["node"] == META["node"]
    assert row["task_id"] == "0"


def test_deadlines_in_chain_seconds_become_timestamps() -> None:
    row = TASK_EVENTS.row(META, {"commit_deadline": 1_772_359_500})
    assert row["commit_deadline"] == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)


def test_payouts_become_lists_of_wei() -> None:
    row = TASK_EVENTS.row(META, {"payouts": ["1500", "1501"], "nodes": ["0xa", "0xb"]})
    assert row["payouts"] == [1500, 1501]
    assert row["nodes"] == ["0xa", "0xb"]


def test_a_field_no_column_holds_is_left_out() -> None:
    row = TASK_EVENTS.row(META, {"someday_new": 1})
    assert "someday_new" not in row


def _schema_fields(name: str) -> set[str]:
    """The record's fields as flatten() names them: nested records joined by '_'."""

    def walk(fields: list[dict[str, Any]], prefix: str) -> set[str]:
        out: set[str] = set()
        for f in fields:
            kind = f["type"]
            if isinstance(kind, dict) and kind.get("type") == "record":
                out |= walk(kind["fields"], f"{prefix}{f['name']}_")
            else:
                out.add(f"{prefix}{f['name']}")
        return out

    return walk(SchemaRegistry().current(name).parsed["fields"], "")


@pytest.mark.parametrize(
    ("table", "records"),
    [
        (TASK_EVENTS, [k.__name__ for k in get_args(TaskEvent)]),
        (NODE_EVENTS, [k.__name__ for k in get_args(NodeEvent)]),
    ],
    ids=["task-events", "node-events"],
)
def test_every_field_of_every_chain_event_has_a_column(
    table: EventTable, records: list[str]
) -> None:
    held = {f.source for f in table.fields} | table.skipped
    missing = {name: _schema_fields(name) - held for name in records}
    assert {name: fields for name, fields in missing.items() if fields} == {}


@pytest.mark.parametrize("table", [TASK_EVENTS, NODE_EVENTS], ids=["task-events", "node-events"])
def test_column_names_are_unique_and_start_with_where_the_event_sits(table: EventTable) -> None:
    names = [c.name for c in table.columns]
    assert len(names) == len(set(names))
    assert names[:3] == ["block_time", "chain_id", table.subject]
    assert {c.name for c in EVENT_META_COLUMNS} <= set(names)


def test_wei_columns_are_decimals_and_times_timestamps() -> None:
    kinds = {c.name: c.kind for c in (*TASK_EVENTS.columns, *TASK_HISTORY_COLUMNS)}
    assert kinds["fee"] is Kind.WEI
    assert kinds["payouts"] is Kind.WEI_LIST
    assert kinds["block_time"] is Kind.TIMESTAMP
    assert kinds["changed_at"] is Kind.TIMESTAMP
    assert str(Kind.WEI.arrow) == "decimal128(38, 0)"
    assert str(Kind.TIMESTAMP.arrow) == "timestamp[us, tz=UTC]"
