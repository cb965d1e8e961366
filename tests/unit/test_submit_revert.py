"""Revert data decoded into the custom error's name and arguments."""

from __future__ import annotations

import json

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from chain_bridge.revert import RevertDecoder

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
ERRORS = [
    {
        "type": "error",
        "name": "NotSelectedNode",
        "inputs": [{"name": "taskId", "type": "uint256"}, {"name": "caller", "type": "address"}],
    },
    {"type": "error", "name": "UnknownTask", "inputs": [{"name": "taskId", "type": "uint256"}]},
    {"type": "error", "name": "InvalidTierFloors", "inputs": []},
]


def revert_data(signature: str, types: list[str], values: list[object]) -> bytes:
    return function_signature_to_4byte_selector(signature) + encode(types, values)


def test_a_custom_error_is_named_with_its_arguments() -> None:
    data = revert_data("NotSelectedNode(uint256,address)", ["uint256", "address"], [7, NODE])
    revert = RevertDecoder(ERRORS).decode(data)
    assert revert.name == "NotSelectedNode"
    assert json.loads(revert.args_json or "") == {"taskId": 7, "caller": NODE}
    assert revert.reason == f'NotSelectedNode(taskId=7, caller="{NODE}")'


def test_integers_beyond_javascripts_precision_are_strings() -> None:
    data = revert_data("UnknownTask(uint256)", ["uint256"], [2**200])
    assert json.loads(RevertDecoder(ERRORS).decode(data).args_json or "") == {"taskId": str(2**200)}


def test_an_error_without_arguments() -> None:
    revert = RevertDecoder(ERRORS).decode(
        function_signature_to_4byte_selector("InvalidTierFloors()")
    )
    assert (revert.name, revert.args_json) == ("InvalidTierFloors", "{}")


def test_require_messages_and_panics_are_known_without_an_abi() -> None:
    decoder = RevertDecoder([])
    message = decoder.decode(revert_data("Error(string)", ["string"], ["not owner"]))
    panic = decoder.decode(revert_data("Panic(uint256)", ["uint256"], [0x11]))
    assert (message.name, json.loads(message.args_json or "")) == (
        "Error",
        {"message": "not owner"},
    )
    assert (panic.name, json.loads(panic.args_json or "")) == ("Panic", {"code": 17})


def test_an_unknown_selector_is_reported_with_its_data() -> None:
    revert = RevertDecoder(ERRORS).decode(bytes.fromhex("deadbeef01"))
    assert revert.name is None
    assert "0xdeadbeef01" in revert.reason


def test_a_revert_without_data() -> None:
    assert RevertDecoder(ERRORS).decode(b"").reason == "reverted without data"


def test_truncated_arguments_keep_the_name() -> None:
    data = revert_data("UnknownTask(uint256)", ["uint256"], [1])[:20]
    revert = RevertDecoder(ERRORS).decode(data)
    assert revert.name == "UnknownTask"
    assert revert.args_json is None
