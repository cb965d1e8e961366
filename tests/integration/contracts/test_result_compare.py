"""The on-chain agreement rule against an independent Python statement of it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from hydrogen import contracts
from hydrogen.devnet.accounts import Role, devnet_account

SD, LLM = 0, 1


def agree(task_type: int, threshold: int, a: bytes, b: bytes) -> bool:
    if len(a) != len(b):
        return False
    if task_type == LLM or len(a) == 1:
        return a == b
    return all(
        bin(int.from_bytes(a[i : i + 8], "big") ^ int.from_bytes(b[i : i + 8], "big")).count("1")
        <= threshold
        for i in range(0, len(a), 8)
    )


@pytest.fixture(scope="module")
def harness(w3: Web3) -> object:
    art = contracts.build()["ResultCompareHarness"]
    deployed = contracts.deploy(w3, devnet_account(Role.DEPLOYER), art)
    return w3.eth.contract(address=deployed.address, abi=art.abi)


phash_lists = st.integers(1, 4).flatmap(
    lambda n: st.tuples(
        st.binary(min_size=8 * n, max_size=8 * n), st.binary(min_size=8 * n, max_size=8 * n)
    )
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pair=phash_lists, threshold=st.integers(0, 64), flips=st.integers(0, 64))
def test_sd_agreement_matches_the_per_image_hamming_rule(
    harness: object, pair: tuple[bytes, bytes], threshold: int, flips: int
) -> None:
    a, b = pair
    # Half the time compare with a near copy, so both outcomes are exercised.
    if flips % 2:
        word = int.from_bytes(a[:8], "big") ^ ((1 << (flips % 64)) - 1)
        b = word.to_bytes(8, "big") + a[8:]
    assert harness.functions.agree(SD, threshold, a, b).call() == agree(SD, threshold, a, b)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(x=st.integers(0, 2**64 - 1))
def test_popcount_counts_set_bits(harness: object, x: int) -> None:
    assert harness.functions.popcount64(x).call() == bin(x).count("1")


def test_result_formats(harness: object) -> None:
    ok = harness.functions.isWellFormed
    assert ok(SD, b"\x00" * 8).call()
    assert not ok(SD, b"").call()
    assert not ok(SD, b"\x00" * 9).call()
    assert not ok(SD, b"\x00" * (8 * 33)).call()
    assert ok(LLM, b"\x00" * 32).call()
    assert not ok(LLM, b"\x00" * 8).call()
    assert ok(LLM, b"\x05").call()  # an error report
    assert not ok(SD, b"\x00").call()  # error code 0 means "no error"
