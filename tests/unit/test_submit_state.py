"""The submitter's pure decisions: nonces, duplicates, expiry, fee bumps, settlement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain_bridge.submit_state import (
    Admission,
    Attempt,
    Fees,
    InFlight,
    Settlement,
    SignerState,
    admit,
    bump_due,
    bumped_fees,
    fresh_state,
    initial_fees,
    resumed,
    settlement,
)

SIGNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
GWEI = 10**9
FEES = Fees(3 * GWEI, GWEI)


def attempt(tx_hash: str = "0xaa", fees: Fees = FEES, at: int = 1_000) -> Attempt:
    return Attempt(tx_hash, b"\x02raw", fees, at)


def in_flight(request_id: str, nonce: int, *attempts: Attempt) -> InFlight:
    return InFlight(
        request_id, nonce, "0x" + "11" * 20, b"\x01", 0, 50_000, attempts or (attempt(),)
    )


def test_a_new_signer_starts_at_the_chains_pending_count() -> None:
    assert fresh_state(SIGNER, 31337, 7).next_nonce == 7


def test_signed_requests_take_consecutive_nonces() -> None:
    state = fresh_state(SIGNER, 31337, 4).with_sent(in_flight("a", 4)).with_sent(in_flight("b", 5))
    assert state.next_nonce == 6
    assert [t.nonce for t in state.in_flight] == [4, 5]


def test_a_transaction_signed_at_another_nonce_is_refused() -> None:
    with pytest.raises(ValueError, match=r"request 'b' signed at nonce 9, expected 5"):
        fresh_state(SIGNER, 31337, 5).with_sent(in_flight("b", 9))


def test_a_request_in_flight_or_answered_is_a_duplicate() -> None:
    state = fresh_state(SIGNER, 1, 0).with_sent(in_flight("a", 0))
    assert admit(state, "a", None, now_ms=0) is Admission.DUPLICATE
    answered = state.with_outcome("a", keep_recent=10)
    assert admit(answered, "a", None, now_ms=0) is Admission.DUPLICATE
    assert admit(answered, "b", None, now_ms=0) is Admission.SEND


def test_a_request_past_its_deadline_expires_and_one_at_its_deadline_is_sent() -> None:
    state = fresh_state(SIGNER, 1, 0)
    assert admit(state, "a", not_after_ms=1_000, now_ms=1_001) is Admission.EXPIRED
    assert admit(state, "a", not_after_ms=1_000, now_ms=1_000) is Admission.SEND


def test_an_outcome_removes_the_request_from_flight_and_recent_ids_stay_bounded() -> None:
    state = fresh_state(SIGNER, 1, 0).with_sent(in_flight("a", 0))
    for rid in ("a", "b", "c", "d"):
        state = state.with_outcome(rid, keep_recent=3)
    assert state.in_flight == ()
    assert state.recent == ("b", "c", "d")
    assert state.next_nonce == 1  # an answered request never gives its nonce back


def test_a_bump_adds_an_attempt_at_the_same_nonce() -> None:
    state = fresh_state(SIGNER, 1, 0).with_sent(in_flight("a", 0))
    state = state.with_attempt("a", attempt("0xbb", Fees(4 * GWEI, 2 * GWEI), at=2_000))
    assert state.find("a").hashes == ("0xbb", "0xaa")
    assert state.next_nonce == 1


def test_after_a_restart_the_nonce_is_the_larger_of_journal_and_chain() -> None:
    journaled = SignerState(SIGNER, 1, next_nonce=5)
    assert resumed(journaled, chain_pending_nonce=3).next_nonce == 5  # signed, not yet broadcast
    assert resumed(journaled, chain_pending_nonce=8).next_nonce == 8  # the key was used elsewhere


def test_a_bump_is_due_only_after_the_wait() -> None:
    tx = in_flight("a", 0, attempt(at=10_000))
    assert not bump_due(tx, now_ms=39_999, bump_after_ms=30_000)
    assert bump_due(tx, now_ms=40_000, bump_after_ms=30_000)


def test_a_bump_raises_both_fees_by_the_percentage_at_least() -> None:
    new = bumped_fees(Fees(100, 10), suggested=Fees(50, 5), percent=15, cap=1_000)
    assert new == Fees(115, 12)  # 11.5 rounds up: nodes compare against the exact 10%


def test_a_bump_follows_the_market_when_it_moved_further() -> None:
    new = bumped_fees(Fees(100, 10), suggested=Fees(300, 40), percent=15, cap=1_000)
    assert new == Fees(300, 40)


def test_no_bump_past_the_cap() -> None:
    assert bumped_fees(Fees(900, 10), suggested=Fees(50, 5), percent=15, cap=1_000) is None


def test_a_bump_smaller_than_nodes_accept_is_refused() -> None:
    with pytest.raises(ValueError, match="below 10% is refused by nodes, got 5%"):
        bumped_fees(Fees(100, 10), Fees(100, 10), percent=5, cap=1_000)


@given(
    max_fee=st.integers(1, 10**12),
    priority_share=st.floats(0, 1),
    suggested_max=st.integers(0, 10**12),
    percent=st.integers(10, 100),
)
def test_every_bump_is_a_valid_replacement(
    max_fee: int, priority_share: float, suggested_max: int, percent: int
) -> None:
    old = Fees(max_fee, int(max_fee * priority_share))
    new = bumped_fees(old, Fees(suggested_max, 0), percent, cap=10**13)
    assert new is not None
    assert new.max_fee_per_gas * 100 >= old.max_fee_per_gas * (100 + percent)
    assert new.max_priority_fee_per_gas * 100 >= old.max_priority_fee_per_gas * (100 + percent)
    assert new.max_priority_fee_per_gas <= new.max_fee_per_gas


def test_initial_fees_leave_room_for_the_base_fee_and_respect_the_cap() -> None:
    assert initial_fees(base_fee=10, priority_fee=2, cap=1_000) == Fees(22, 2)
    assert initial_fees(base_fee=10**6, priority_fee=2, cap=1_000) == Fees(1_000, 2)


@pytest.mark.parametrize(
    ("nonce", "chain_nonce", "found", "expected"),
    [
        (3, 4, True, Settlement.FOUND),
        (3, 4, False, Settlement.REPLACED),  # nonce used, by none of our hashes
        (3, 3, False, Settlement.PENDING),
    ],
)
def test_settlement_of_a_transaction(
    nonce: int, chain_nonce: int, found: bool, expected: Settlement
) -> None:
    assert settlement(in_flight("a", nonce), chain_nonce, found) is expected
