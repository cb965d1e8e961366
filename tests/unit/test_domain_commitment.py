"""schemas.commitment agrees with Solidity's keccak256(abi.encodePacked(bytes, bytes32))."""

from __future__ import annotations

import pytest
from web3 import Web3

from schemas.commitment import commitment, error_code, error_report, is_well_formed


def test_commitment_matches_solidity_encode_packed() -> None:
    result, nonce = bytes(range(24)), bytes(range(100, 132))
    assert commitment(result, nonce) == bytes(
        Web3.solidity_keccak(["bytes", "bytes32"], [result, nonce])
    )


def test_a_nonce_must_be_a_bytes32() -> None:
    with pytest.raises(ValueError, match="got 31"):
        commitment(b"\x01", b"\x00" * 31)


def test_an_error_report_is_one_non_zero_byte() -> None:
    assert error_report(7) == b"\x07"
    assert error_code(b"\x07") == 7
    assert error_code(b"\x07" * 8) == 0
    with pytest.raises(ValueError, match="got 256"):
        error_report(256)


@pytest.mark.parametrize(
    ("task_type", "length", "ok"),
    [
        (0, 8, True),
        (0, 16, True),
        (0, 12, False),
        (0, 264, False),
        (1, 32, True),
        (1, 8, False),
        (1, 1, True),
    ],
)
def test_well_formed_results_follow_result_compare(task_type: int, length: int, ok: bool) -> None:
    assert is_well_formed(task_type, b"\x05" * length) is ok
