"""Typed views of chain records (streams.domain.events), and the record builder the other
domain tests share: `Chain` writes records shaped like the Avro records of schemas/avro/."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.domain.errors import MalformedRecord, UnknownRecord
from streams.domain.events import (
    ChainEvent,
    LogRetracted,
    NodeStatusChanged,
    TaskCompleted,
    TaskCreated,
    TaskEvent,
    parse,
)
from streams.domain.protocol import NodeStatus, TaskType

CHAIN_ID = 31337
TASK_MANAGER_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
NODES = (
    "0x1111111111111111111111111111111111111111",
    "0x2222222222222222222222222222222222222222",
    "0x3333333333333333333333333333333333333333",
)
CREATOR = "0x9999999999999999999999999999999999999999"
ARGS_HASH = bytes(range(32))
T0 = 1_700_000_000  # chain seconds of the first block


def _defaults(task_id: str) -> dict[str, dict[str, Any]]:
    return {
        "TaskCreated": {
            "task_id": task_id,
            "creator": CREATOR,
            "task_type": 0,
            "args_hash": ARGS_HASH,
            "model_ids": ["runwayml/stable-diffusion-v1-5"],
            "min_vram": 8,
            "vram_tier": 0,
            "fee": "3000000000000000",
            "timeouts": {"queue": 600, "commit": 300, "disclose": 120, "upload": 300},
        },
        "TaskQueued": {"task_id": task_id, "queue_deadline": T0 + 600},
        "NodeSelected": {"task_id": task_id, "node": NODES[0], "slot": 0},
        "TaskStarted": {
            "task_id": task_id,
            "nodes": list(NODES),
            "commit_deadline": T0 + 300,
            "seed": str(2**200 + 7),
        },
        "CommitmentSubmitted": {
            "task_id": task_id,
            "node": NODES[0],
            "commitment": b"\xaa" * 32,
            "commit_order": 1,
        },
        "DisclosureOpened": {
            "task_id": task_id,
            "nodes": list(NODES),
            "disclose_deadline": T0 + 420,
        },
        "ResultDisclosed": {
            "task_id": task_id,
            "node": NODES[0],
            "result": b"\x01" * 8,
            "error_code": 0,
        },
        "TaskValidated": {
            "task_id": task_id,
            "result_node": NODES[0],
            "result": b"\x01" * 8,
            "agreeing_nodes": list(NODES),
            "upload_deadline": T0 + 720,
        },
        "DeliveryReassigned": {
            "task_id": task_id,
            "result_node": NODES[1],
            "upload_deadline": T0 + 1020,
        },
        "NodePenalized": {"task_id": task_id, "node": NODES[0], "fault": 1, "amount": "0"},
        "TaskCompleted": {
            "task_id": task_id,
            "result_node": NODES[0],
            "nodes": list(NODES),
            "payouts": ["1000000000000000"] * 3,
        },
        "TaskAborted": {"task_id": task_id, "reason": 1, "refund": "3000000000000000"},
        "TaskCancelled": {"task_id": task_id, "creator": CREATOR, "refund": "3000000000000000"},
        "TaskExpired": {"task_id": task_id, "phase": 2, "deadline": T0 + 300},
        "NodeJoined": {
            "node": NODES[0],
            "gpu_name": "NVIDIA H100",
            "vram": 80,
            "tier": 2,
            "model_ids": ["runwayml/stable-diffusion-v1-5"],
            "stake": "1000000000000000000",
        },
        "StakeAdded": {"node": NODES[0], "amount": "5", "stake": "1000000000000000005"},
        "NodeStatusChanged": {"node": NODES[0], "task_id": "0", "from": 0, "to": 1},
        "NodeSlashed": {"node": NODES[0], "task_id": task_id, "amount": "1000000000000000000"},
        "NodeFined": {
            "node": NODES[0],
            "task_id": task_id,
            "amount": "100",
            "stake_left": "999999999999999900",
        },
        "StakeReturned": {"node": NODES[0], "task_id": task_id, "amount": "1000000000000000000"},
    }


class Chain:
    """Writes records in chain order: each one at the next log index, `mine()` for a block."""

    def __init__(self, task_id: str = "1", chain_id: int = CHAIN_ID) -> None:
        self.task_id = task_id
        self.chain_id = chain_id
        self.block = 100
        self.log_index = 0
        self.time_s = T0
        self._tx = itertools.count(1)

    def mine(self, seconds: int = 12) -> Chain:
        self.block += 1
        self.log_index = 0
        self.time_s += seconds
        return self

    def record(self, name: str, **fields: Any) -> dict[str, Any]:
        tx_hash = f"0x{next(self._tx):064x}"
        rec = {
            "event_id": f"{self.chain_id}:{tx_hash}:{self.log_index}",
            "chain_id": self.chain_id,
            "contract": TASK_MANAGER_ADDRESS,
            "block_number": self.block,
            "block_hash": f"0x{self.block:064x}",
            "block_time": self.time_s * 1000,
            "tx_hash": tx_hash,
            "log_index": self.log_index,
            **_defaults(self.task_id)[name],
            **fields,
        }
        self.log_index += 1
        return rec

    def event(self, name: str, **fields: Any) -> ChainEvent:
        return parse(name, self.record(name, **fields))

    def task_event(self, name: str, **fields: Any) -> TaskEvent:
        event = self.event(name, **fields)
        assert not isinstance(event, LogRetracted)
        return event  # type: ignore[return-value]

    def retraction(self, event: TaskEvent | Any) -> LogRetracted:
        return LogRetracted(
            event_id=event.meta.event_id,
            record=type(event).__name__,
            chain_id=self.chain_id,
            block_number=event.meta.block_number,
            block_hash=event.meta.block_hash,
            fork_block_number=event.meta.block_number - 1,
            detected_at_ms=self.time_s * 1000,
        )


def test_a_task_created_record_becomes_its_typed_event() -> None:
    event = Chain().event("TaskCreated")
    assert isinstance(event, TaskCreated)
    assert event.task_type is TaskType.SD
    assert event.fee == 3_000_000_000_000_000
    assert event.timeouts.commit == 300
    assert event.meta.position == (100, 0)
    assert event.meta.block_time_ms == T0 * 1000


def test_uint256_lists_become_ints() -> None:
    event = Chain().event("TaskCompleted")
    assert isinstance(event, TaskCompleted)
    assert event.payouts == (10**15, 10**15, 10**15)


def test_a_datetime_block_time_becomes_epoch_milliseconds() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    event = parse("TaskQueued", {**Chain().record("TaskQueued"), "block_time": when})
    assert event.meta.block_time_ms == int(when.timestamp() * 1000)  # type: ignore[union-attr]


def test_node_status_changed_reads_the_from_and_to_fields() -> None:
    event = Chain().event("NodeStatusChanged", **{"from": 2, "to": 4})
    assert isinstance(event, NodeStatusChanged)
    assert (event.from_status, event.to_status) == (NodeStatus.BUSY, NodeStatus.PENDING_PAUSE)


def test_a_missing_field_is_named() -> None:
    record = Chain().record("TaskQueued")
    del record["queue_deadline"]
    with pytest.raises(MalformedRecord, match="TaskQueued record has no field 'queue_deadline'"):
        parse("TaskQueued", record)


def test_a_non_decimal_uint256_is_quoted() -> None:
    with pytest.raises(MalformedRecord, match=r"TaskAborted.refund .* got '12x'"):
        parse("TaskAborted", Chain().record("TaskAborted", refund="12x"))


def test_an_unknown_enum_value_is_quoted() -> None:
    with pytest.raises(MalformedRecord, match=r"TaskAborted.reason must be a AbortReason .* 9"):
        parse("TaskAborted", Chain().record("TaskAborted", reason=9))


def test_an_unknown_record_name_is_named() -> None:
    with pytest.raises(UnknownRecord, match="'RelaySet'"):
        parse("RelaySet", {})


def test_log_retracted_has_no_envelope() -> None:
    record = {
        "event_id": "31337:0xab:3",
        "record": "TaskStarted",
        "chain_id": CHAIN_ID,
        "block_number": 104,
        "block_hash": "0xdead",
        "fork_block_number": 102,
        "detected_at": 5,
    }
    assert parse("LogRetracted", record) == LogRetracted(
        "31337:0xab:3", "TaskStarted", CHAIN_ID, 104, "0xdead", 102, 5
    )
