"""Node calls as TxRequest records: the ids, the record, and that the submitter accepts it."""

from __future__ import annotations

import json

import pytest

from chain_bridge.calldata import ContractBook
from chain_bridge.submit_records import request_from_record
from hydrogen import contracts
from hydrogen.node_ops.request import (
    ORIGIN,
    REGISTRY,
    NodeAction,
    add_stake_call,
    join_call,
    new_request_id,
    plain_call,
    tx_request,
)
from schemas.codec import Codec

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
REGISTRY_ADDRESS = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
ETH = 10**18


@pytest.fixture(scope="module")
def book() -> ContractBook:
    """What the submitter encodes calls with, built on the registry's real ABI."""
    abi = contracts.build()[REGISTRY].abi
    return ContractBook.from_deployment(
        {"contracts": {REGISTRY: {"address": REGISTRY_ADDRESS, "abi": abi}}}
    )


def test_a_request_id_names_chain_node_and_action_and_ends_unique() -> None:
    call = plain_call(NodeAction.PAUSE, NODE)
    first = new_request_id(31337, call, "a1")
    assert first == f"cli:31337:{NODE}:pause:a1"
    assert new_request_id(31337, call, "b2") != first


def test_a_join_request_carries_gpu_vram_models_and_the_stake_as_value() -> None:
    call = join_call(NODE, "NVIDIA H100", 80, ("base:tiny-sd15", "llm:tiny-gpt2"), 400 * ETH)
    rec = tx_request(call, "cli:1:x:join:1", now_ms=1_000, not_after_ms=121_000)
    assert rec == {
        "request_id": "cli:1:x:join:1",
        "signer": NODE,
        "contract": "NodeRegistry",
        "function": "join",
        "args_json": json.dumps(["NVIDIA H100", 80, ["base:tiny-sd15", "llm:tiny-gpt2"]]),
        "value_wei": str(400 * ETH),
        "not_after": 121_000,
        "requested_at": 1_000,
        "origin": ORIGIN,
    }


@pytest.mark.parametrize(
    ("action", "function"),
    [(NodeAction.PAUSE, "pause"), (NodeAction.RESUME, "resume"), (NodeAction.QUIT, "quit")],
)
def test_pause_resume_and_quit_send_no_arguments_and_no_value(
    action: NodeAction, function: str
) -> None:
    rec = tx_request(plain_call(action, NODE), "cli:id", 0, None)
    assert (rec["function"], rec["args_json"], rec["value_wei"]) == (function, "[]", "0")


def test_add_stake_sends_the_amount_as_value() -> None:
    rec = tx_request(add_stake_call(NODE, 5 * ETH), "cli:id", 0, None)
    assert (rec["function"], rec["args_json"], rec["value_wei"]) == ("addStake", "[]", str(5 * ETH))


def test_join_and_add_stake_are_not_plain_calls() -> None:
    with pytest.raises(ValueError, match="join carries arguments"):
        plain_call(NodeAction.JOIN, NODE)


def test_every_action_names_a_payable_or_plain_registry_function(book: ContractBook) -> None:
    for action in NodeAction:
        value = "1" if action in (NodeAction.JOIN, NodeAction.ADD_STAKE) else "0"
        args = '["g", 8, ["base:a"]]' if action is NodeAction.JOIN else "[]"
        call = book.encode_call(REGISTRY, action.function, args, value)
        assert call.function == action.function


def test_the_record_encodes_as_a_tx_request_the_submitter_reads_back(book: ContractBook) -> None:
    call = join_call(NODE, "RTX 4090", 24, ("base:tiny-sd15",), 400 * ETH)
    rec = tx_request(call, "cli:31337:n:join:1", now_ms=1_700_000_000_000, not_after_ms=None)
    codec = Codec()
    name, decoded = codec.decode(codec.encode("TxRequest", rec), expect="TxRequest")
    request = request_from_record(decoded)
    encoded = book.encode_call(
        request.contract, request.function, request.args_json, request.value_wei
    )
    assert name == "TxRequest"
    assert (request.signer, request.not_after_ms) == (NODE, None)
    assert encoded.to == REGISTRY_ADDRESS
    assert encoded.value_wei == 400 * ETH
