"""Tx request validation: contract, function and JSON arguments against the deployment's ABIs."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from chain_bridge.calldata import ContractBook
from chain_bridge.errors import BadCallArguments, UnknownCallError

BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MANAGER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def fn(name: str, inputs: list[tuple[str, str]], mutability: str = "nonpayable") -> dict:
    return {
        "type": "function",
        "name": name,
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [],
        "stateMutability": mutability,
    }


BOOK = ContractBook.from_deployment(
    {
        "contracts": {
            "DevnetBeacon": {
                "address": BEACON.lower(),
                "abi": [fn("beat", [("tag", "bytes32")]), fn("beats", [], "view")],
            },
            "TaskManager": {
                "address": MANAGER,
                "abi": [
                    fn("submitCommitment", [("taskId", "uint256"), ("commitment", "bytes32")]),
                    fn(
                        "disclose",
                        [("taskId", "uint256"), ("result", "bytes"), ("nonce", "bytes32")],
                    ),
                    fn("createTask", [("nodes", "address[]"), ("fee", "uint96")], "payable"),
                    fn("pause", [("who", "address"), ("flag", "bool")]),
                ],
            },
        }
    }
)
TAG = "0x" + "ab" * 32


def test_a_call_encodes_like_solidity_expects() -> None:
    call = BOOK.encode_call("DevnetBeacon", "beat", f'["{TAG}"]')
    assert call.to == BEACON  # checksummed, whatever the record's spelling
    assert call.data == function_signature_to_4byte_selector("beat(bytes32)") + bytes.fromhex(
        TAG[2:]
    )
    assert call.value_wei == 0


def test_big_integers_as_decimal_strings_and_dynamic_bytes() -> None:
    call = BOOK.encode_call("TaskManager", "disclose", f'["{2**200}", "0x0102", "{TAG}"]')
    expected = encode(
        ["uint256", "bytes", "bytes32"], [2**200, b"\x01\x02", bytes.fromhex(TAG[2:])]
    )
    assert call.data[4:] == expected


def test_arrays_of_addresses_and_value_to_a_payable_function() -> None:
    call = BOOK.encode_call("TaskManager", "createTask", f'[["{NODE.lower()}"], 5]', value_wei="7")
    assert call.data[4:] == encode(["address[]", "uint96"], [[NODE], 5])
    assert call.value_wei == 7


@pytest.mark.parametrize(
    ("contract", "function", "args", "error", "message"),
    [
        (
            "Nope",
            "beat",
            "[]",
            UnknownCallError,
            r"no contract 'Nope'.*known: DevnetBeacon, TaskManager",
        ),
        ("DevnetBeacon", "beet", "[]", UnknownCallError, r"no function 'beet'; known: beat, beats"),
        ("DevnetBeacon", "beats", "[]", UnknownCallError, r"beats is view"),
        ("DevnetBeacon", "beat", "[]", BadCallArguments, r"takes 1 arguments .*got 0"),
        (
            "DevnetBeacon",
            "beat",
            '["0xabcd"]',
            BadCallArguments,
            r"beat.tag must be 32 bytes for bytes32, got 2",
        ),
        ("DevnetBeacon", "beat", "{}", BadCallArguments, r"must be a JSON array"),
        ("DevnetBeacon", "beat", "[oops", BadCallArguments, r"args_json is not JSON"),
        (
            "TaskManager",
            "submitCommitment",
            f'[true, "{TAG}"]',
            BadCallArguments,
            r"taskId must be an integer.*True",
        ),
        (
            "TaskManager",
            "submitCommitment",
            f'["1e3", "{TAG}"]',
            BadCallArguments,
            r"decimal integer string, got '1e3'",
        ),
        (
            "TaskManager",
            "submitCommitment",
            f'[-1, "{TAG}"]',
            BadCallArguments,
            r"taskId = -1 does not fit uint256",
        ),
        (
            "TaskManager",
            "createTask",
            f'[["{NODE}"], {2**96}]',
            BadCallArguments,
            r"does not fit uint96",
        ),
        (
            "TaskManager",
            "pause",
            f'["{NODE[:-1]}X", true]',
            BadCallArguments,
            r"pause.who must be a 0x address",
        ),
        (
            "TaskManager",
            "pause",
            '["0x90f79bf6eb2c4f870365e785982e1f101e93B906", true]',
            BadCallArguments,
            r"wrong checksum",
        ),
        (
            "TaskManager",
            "pause",
            f'["{NODE}", 1]',
            BadCallArguments,
            r"pause.flag must be true or false, got 1",
        ),
    ],
)
def test_a_bad_request_is_refused_naming_the_bad_value(
    contract: str, function: str, args: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        BOOK.encode_call(contract, function, args)


def test_value_sent_to_a_function_that_is_not_payable_is_refused() -> None:
    with pytest.raises(BadCallArguments, match=r"beat is not payable but value_wei is '1'"):
        BOOK.encode_call("DevnetBeacon", "beat", f'["{TAG}"]', value_wei="1")


def test_value_must_be_a_decimal_integer() -> None:
    with pytest.raises(BadCallArguments, match=r"value_wei must be .* got '0x10'"):
        BOOK.encode_call("TaskManager", "createTask", "[[], 1]", value_wei="0x10")


def test_the_error_abis_of_every_contract_are_collected() -> None:
    book = ContractBook.from_deployment(
        {
            "contracts": {
                "A": {"address": BEACON, "abi": [{"type": "error", "name": "E", "inputs": []}]}
            }
        }
    )
    assert [e["name"] for e in book.error_abis()] == ["E"]
