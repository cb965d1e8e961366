"""The projector's pure helpers: messages to typed events, read models to rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_domain_records import NODES, Chain

from schemas.catalog import CHAIN_NODE_EVENTS, CHAIN_TASK_EVENTS
from schemas.codec import Codec
from streams.domain.node import node_facts
from streams.domain.node import replay as replay_node
from streams.domain.protocol import AbortReason, NodeStatus, TaskStatus, TaskType
from streams.domain.task import replay as replay_task
from streams.projection import (
    Message,
    Read,
    Rejected,
    as_json,
    event_row,
    fold_node,
    label,
    node_inputs,
    node_row,
    read_message,
    route,
    task_row,
)

CODEC = Codec()


def message(topic: str, value: bytes | None, key: bytes | None = b"1", offset: int = 7) -> Message:
    return Message(topic, 2, offset, key, value)


def encoded(chain: Chain, name: str, **fields: object) -> bytes:
    return CODEC.encode(name, chain.record(name, **fields))


def test_labels_are_the_contracts_spelling() -> None:
    assert label(AbortReason.NO_CONSENSUS) == "NoConsensus"
    assert label(NodeStatus.PENDING_PAUSE) == "PendingPause"
    assert label(TaskType.SD) == "SD"
    assert label(TaskType.LLM) == "LLM"


def test_json_of_a_record_writes_bytes_as_hex_and_times_as_iso() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert as_json({"h": b"\x01\xff", "t": at, "l": [b"\x00"], "n": 3}) == {
        "h": "0x01ff",
        "t": "2026-01-02T03:04:05+00:00",
        "l": ["0x00"],
        "n": 3,
    }


def test_a_message_that_is_not_avro_is_rejected_with_the_codecs_reason() -> None:
    with pytest.raises(Rejected) as caught:
        read_message(CODEC, message(CHAIN_TASK_EVENTS.name, b"garbage"))
    assert caught.value.error_type == "DecodeError"
    assert "not an Avro single-object message" in caught.value.reason


def test_a_tombstone_is_rejected() -> None:
    with pytest.raises(Rejected, match="tombstone"):
        read_message(CODEC, message(CHAIN_TASK_EVENTS.name, None))


def test_a_record_no_read_model_folds_is_skipped() -> None:
    credited = CODEC.registry.current("TaskManagerCredited")
    record = {f["name"]: _blank(f["type"]) for f in credited.parsed["fields"]}  # type: ignore[index]
    value = CODEC.encode("TaskManagerCredited", record)
    assert read_message(CODEC, message(CHAIN_TASK_EVENTS.name, value)) is None


def _blank(kind: object) -> object:
    return "0" if kind == "string" else 0  # every other field is a number or a time


def test_a_task_event_routes_to_its_task_on_its_chain() -> None:
    chain = Chain(task_id="42", chain_id=5)
    read = read_message(CODEC, message(CHAIN_TASK_EVENTS.name, encoded(chain, "TaskCreated")))
    assert read is not None
    where = route(read)
    assert (where.kind, where.chain_id, where.subject) == ("task", 5, "42")


def test_a_retraction_routes_by_the_message_key() -> None:
    chain = Chain(chain_id=5)
    created = chain.task_event("TaskCreated")
    r = chain.retraction(created)
    value = CODEC.encode(
        "LogRetracted",
        {
            "event_id": r.event_id,
            "record": r.record,
            "chain_id": r.chain_id,
            "block_number": r.block_number,
            "block_hash": r.block_hash,
            "fork_block_number": r.fork_block_number,
            "detected_at": r.detected_at_ms,
        },
    )
    read = read_message(CODEC, message(CHAIN_NODE_EVENTS.name, value, key=NODES[1].encode()))
    assert read is not None
    assert route(read).subject == NODES[1]
    assert route(read).kind == "node"


def test_a_node_event_on_the_task_topic_is_rejected_naming_both() -> None:
    read = read_message(CODEC, message(CHAIN_TASK_EVENTS.name, encoded(Chain(), "NodeJoined")))
    assert read is not None
    with pytest.raises(Rejected, match=r"NodeJoined record does not belong on chain\.task-events"):
        route(read)


def _lifecycle(chain: Chain) -> list[object]:
    events: list[object] = [chain.task_event("TaskCreated"), chain.task_event("TaskQueued")]
    chain.mine()
    for slot, node in enumerate(NODES):
        events.append(chain.task_event("NodeSelected", node=node, slot=slot))
    events.append(chain.task_event("TaskStarted"))
    return events


def test_a_task_row_carries_status_times_and_members() -> None:
    chain = Chain(task_id="9", chain_id=77)
    state = replay_task("9", _lifecycle(chain))  # type: ignore[arg-type]
    assert state.status is TaskStatus.RUNNING
    row = task_row(77, state)
    assert (row["chain_id"], row["task_id"], row["status"]) == (77, "9", "Running")
    assert row["selected_nodes"] == list(NODES)
    assert row["payouts"] == []  # paid only once the task has ended
    assert row["abort_reason"] is None
    assert row["task_type"] == "SD"
    assert row["version"] == state.version
    assert row["created_at"] < row["started_at"] == row["updated_at"]
    assert row["deadline"] == datetime.fromtimestamp(state.deadline or 0, tz=UTC)


def test_an_event_row_names_the_nodes_its_facts_concern() -> None:
    chain = Chain()
    value = encoded(chain, "NodeSelected", node=NODES[2], slot=2)
    read = read_message(CODEC, message(CHAIN_TASK_EVENTS.name, value))
    assert isinstance(read, Read)
    row = event_row(read, "1")
    assert row["nodes"] == [NODES[2]]
    assert row["message"] == value
    assert (row["kafka_partition"], row["kafka_offset"]) == (2, 7)
    assert row["record"]["node"] == NODES[2]


def test_node_inputs_fold_in_chain_order_whatever_order_they_were_read_in() -> None:
    chain = Chain()
    joined = chain.event("NodeJoined", node=NODES[0])
    status = chain.event("NodeStatusChanged", node=NODES[0])
    chain.mine()
    selected = chain.task_event("NodeSelected", node=NODES[0], slot=0)
    other = chain.task_event("NodeSelected", node=NODES[1], slot=1)
    chain.mine()
    completed = chain.task_event("TaskCompleted", payouts=["7", "5", "5"])
    # Facts read before the registry events, from partitions in another order.
    inputs = node_inputs(NODES[0], [joined, status], [completed, other, selected])  # type: ignore[list-item]
    assert [i.meta.event_id for i in inputs] == [
        joined.meta.event_id,  # type: ignore[union-attr]
        status.meta.event_id,  # type: ignore[union-attr]
        selected.meta.event_id,
        completed.meta.event_id,
    ]
    state = replay_node(NODES[0], inputs)
    row = node_row(1, state)
    assert (row["status"], row["tasks"], row["successes"], row["earned"]) == ("Available", 1, 1, 7)
    assert row["updated_at"] == datetime.fromtimestamp(completed.meta.block_time_ms / 1000, tz=UTC)
    assert node_facts(other)[0].node == NODES[1]


def test_a_node_fold_leaves_out_an_input_the_domain_refuses_and_says_which() -> None:
    chain = Chain()
    joined = chain.event("NodeJoined", node=NODES[0])
    available = chain.event("NodeStatusChanged", node=NODES[0])
    # As if a reorg had retracted the Available -> Busy change before this Busy -> Available.
    stray = chain.mine().event("NodeStatusChanged", node=NODES[0], **{"from": 2, "to": 1})
    state, refused = fold_node(NODES[0], [joined, available, stray])  # type: ignore[list-item]
    assert state.status is NodeStatus.AVAILABLE
    assert [(i.meta.event_id, type(exc).__name__) for i, exc in refused] == [
        (stray.meta.event_id, "NodeStatusMismatch")  # type: ignore[union-attr]
    ]
