"""`hydrogen task status`: the chain's view, the phases by block time, the transactions, and
the relay's word, for people and for scripts."""

from __future__ import annotations

import json

from hydrogen.app.status_report import status_document, status_lines
from hydrogen.app.task_view import ChainEvent, TaskView

NODES = ["0x" + c * 40 for c in "abc"]
FIELDS = (
    "creator",
    "taskType",
    "status",
    "abortReason",
    "vramTier",
    "minVram",
    "fee",
    "createdAt",
    "deadline",
    "argsHash",
    "resultNode",
    "members",
    "commitments",
    "results",
)


def completed_view() -> TaskView:
    members = [(n, i + 1, 0, True, False) for i, n in enumerate(NODES)]
    values = (
        NODES[0],
        0,
        5,
        0,
        0,
        0,
        10**16,
        0,
        0,
        b"\x22" * 32,
        NODES[2],
        members,
        [b"\x00" * 32] * 3,
        [b"\x01" * 8, b"\x01" * 8, b"\x02" * 8],
    )
    return TaskView.of(4, FIELDS, values)


EVENTS = [
    ChainEvent("TaskCreated", "0x01", 1, 0, 100, {}),
    ChainEvent("TaskStarted", "0x01", 1, 1, 100, {}),
    ChainEvent("CommitmentSubmitted", "0x02", 2, 0, 104, {"node": NODES[0]}),
    ChainEvent("DisclosureOpened", "0x03", 3, 0, 105, {}),
    ChainEvent("TaskValidated", "0x04", 4, 0, 106, {}),
    ChainEvent("TaskCompleted", "0x05", 5, 0, 108, {}),
]


def test_the_document_holds_the_view_phases_transactions_and_the_relay() -> None:
    doc = status_document(completed_view(), EVENTS, {"status": "Completed"}, None)
    assert doc["status"] == "Completed" and doc["result_node"] == NODES[2]
    assert doc["result"] == "0x" + "02" * 8  # the result node's disclosure
    assert doc["phases"] == ["running", "commit", "reveal", "validated", "delivered"]
    assert doc["timings_s"] == {"running": 4.0, "commit": 1.0, "reveal": 1.0, "validated": 2.0}
    assert doc["transactions"]["create"] == "0x01"
    assert doc["transactions"]["completed"] == "0x05"
    assert doc["relay"] == {"status": "Completed"} and doc["relay_error"] is None
    assert json.loads(json.dumps(doc)) == doc


def test_the_lines_name_the_status_the_delivering_node_and_an_unreachable_relay() -> None:
    lines = status_lines(completed_view(), EVENTS, None, "connection refused")
    assert lines[0] == "task 4: SD, Completed"
    assert any(NODES[2] in line and "(delivers)" in line for line in lines)
    assert any("0.01 ETH" in line for line in lines)
    assert lines[-1] == "  relay      not reachable: connection refused"
