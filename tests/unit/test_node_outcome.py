"""TxOutcome -> what the node commands print and the status they exit with."""

from __future__ import annotations

import json

import pytest

from hydrogen.node_ops.outcome import (
    EXIT_MINED,
    EXIT_NO_OUTCOME,
    EXIT_NOT_DONE,
    Outcome,
    as_json,
    describe,
    error_text,
    exit_status,
    no_outcome_lines,
)

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
TX = "0x" + "ab" * 32


def outcome(status: str, **fields) -> Outcome:  # type: ignore[no-untyped-def]
    return Outcome(request_id="cli:1", signer=NODE, status=status, **fields)


def test_an_outcome_reads_from_its_record() -> None:
    rec = {
        "request_id": "cli:1",
        "signer": NODE,
        "status": "MINED",
        "tx_hash": TX,
        "nonce": 3,
        "block_number": 40,
        "gas_used": 51_000,
        "error_name": None,
        "error_args_json": None,
        "reason": "",
        "observed_at": 0,
    }
    assert Outcome.from_record(rec) == outcome(
        "MINED", tx_hash=TX, nonce=3, block_number=40, gas_used=51_000
    )


@pytest.mark.parametrize(
    ("found", "status"),
    [
        (outcome("MINED"), EXIT_MINED),
        (outcome("REVERTED"), EXIT_NOT_DONE),
        (outcome("REJECTED"), EXIT_NOT_DONE),
        (outcome("EXPIRED"), EXIT_NOT_DONE),
        (outcome("REPLACED"), EXIT_NOT_DONE),
        (None, EXIT_NO_OUTCOME),
    ],
)
def test_only_a_mined_outcome_exits_zero(found: Outcome | None, status: int) -> None:
    assert exit_status(found) == status


def test_a_mined_outcome_prints_its_block_and_tx() -> None:
    lines = describe(
        "pause", NODE, outcome("MINED", tx_hash=TX, nonce=2, block_number=9, gas_used=30_000)
    )
    assert lines == [f"pause {NODE}: MINED in block 9", f"tx {TX} (nonce 2, gas 30000)"]


def test_a_preflight_revert_names_the_error_and_the_status_by_name() -> None:
    found = outcome(
        "REVERTED",
        error_name="InvalidNodeStatus",
        error_args_json=json.dumps({"node": NODE, "status": 0}),
        reason=f"reverts on the pending state, not sent: InvalidNodeStatus(node={NODE}, status=0)",
    )
    assert describe("pause", NODE, found) == [
        f"pause {NODE}: REVERTED InvalidNodeStatus(node={NODE}, status=None)",
        "not sent: the call reverts on the chain's current state",
    ]


def test_a_revert_on_chain_names_its_tx() -> None:
    found = outcome(
        "REVERTED", tx_hash=TX, block_number=12, error_name="AlreadyRegistered",
        error_args_json=json.dumps({"node": NODE, "status": 4}),
    )  # fmt: skip
    lines = describe("join", NODE, found)
    assert lines[0].endswith(f"AlreadyRegistered(node={NODE}, status=PendingPause)")
    assert lines[1] == f"tx {TX} reverted in block 12"


def test_stake_errors_show_amounts_in_eth() -> None:
    found = outcome(
        "REVERTED",
        error_name="StakeTooLow",
        error_args_json=json.dumps(
            {"sent": "100000000000000000000", "required": str(400 * 10**18)}
        ),
    )
    assert error_text(found) == "StakeTooLow(sent=100 ETH, required=400 ETH)"


def test_a_revert_without_a_known_error_shows_the_submitters_reason() -> None:
    found = outcome("REVERTED", reason="reverted with unknown error data 0xdeadbeef")
    assert describe("quit", NODE, found) == [
        f"quit {NODE}: REVERTED (no custom error)",
        "not sent: the call reverts on the chain's current state",
        "reverted with unknown error data 0xdeadbeef",
    ]


def test_a_rejected_request_says_why() -> None:
    found = outcome("REJECTED", reason=f"no key for signer {NODE}; this submitter holds 20 key(s)")
    assert describe("resume", NODE, found) == [
        f"resume {NODE}: REJECTED: the submitter will not send it",
        f"no key for signer {NODE}; this submitter holds 20 key(s)",
    ]


def test_an_expired_request_points_at_the_submitter() -> None:
    line = describe("pause", NODE, outcome("EXPIRED", reason="not_after passed"))[0]
    assert "EXPIRED" in line and "hydrogen bridge submit" in line


def test_the_json_result_carries_the_decoded_error_arguments() -> None:
    found = outcome(
        "REVERTED", error_name="InvalidNodeStatus", error_args_json='{"node": "0x1", "status": 3}'
    )
    doc = as_json("resume", NODE, found, "cli:1")
    assert doc["status"] == "REVERTED"
    assert doc["error_name"] == "InvalidNodeStatus"
    assert doc["error_args"] == {"node": "0x1", "status": 3}


def test_the_json_result_without_an_outcome_has_a_null_status() -> None:
    assert as_json("pause", NODE, None, "cli:9") == {
        "action": "pause",
        "node": NODE,
        "request_id": "cli:9",
        "status": None,
    }


def test_no_outcome_says_how_to_wait_again_without_sending_twice() -> None:
    lines = no_outcome_lines("cli:31337:n:pause:1", 130.2)
    assert lines[0].startswith("no outcome for request cli:31337:n:pause:1 after 130s")
    assert "never sent, unless it already was" in lines[0]
    assert lines[1].endswith("--request-id cli:31337:n:pause:1")
