"""The submitter's decisions, pure: which nonce, whether a request is a duplicate or expired,
when a stuck transaction gets a higher fee and how much, what a settled nonce means.

No clock, no I/O: times are epoch milliseconds passed in, chain facts (nonce counts, whether a
receipt was found) are arguments. `SignerState` is exactly what the journal record holds for
one signer (`chain_bridge.journal` maps it to Avro), so what the adapter decides from memory
it could decide again from the journal after a crash.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

# geth and anvil refuse a replacement that does not raise both fee fields by at least 10%.
MIN_BUMP_PERCENT = 10


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def __post_init__(self) -> None:
        if self.max_priority_fee_per_gas > self.max_fee_per_gas:
            raise ValueError(
                f"priority fee {self.max_priority_fee_per_gas} exceeds max fee {self.max_fee_per_gas}"
            )


@dataclass(frozen=True)
class Attempt:
    """One signed transaction for a request; every attempt of a request has the same nonce."""

    tx_hash: str
    raw_tx: bytes
    fees: Fees
    signed_at_ms: int


@dataclass(frozen=True)
class InFlight:
    """A request whose transaction is signed and journaled, and has no outcome yet."""

    request_id: str
    nonce: int
    to: str
    data: bytes
    value_wei: int
    gas: int
    attempts: tuple[Attempt, ...]

    def __post_init__(self) -> None:
        if not self.attempts:
            raise ValueError(f"in-flight request {self.request_id!r} has no signed attempt")

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]

    @property
    def hashes(self) -> tuple[str, ...]:
        """Newest first: the one most likely mined is looked up first."""
        return tuple(a.tx_hash for a in reversed(self.attempts))


@dataclass(frozen=True)
class SignerState:
    signer: str
    chain_id: int
    next_nonce: int
    in_flight: tuple[InFlight, ...] = ()
    recent: tuple[str, ...] = ()  # request ids that got an outcome, oldest first

    def knows(self, request_id: str) -> bool:
        return request_id in self.recent or any(t.request_id == request_id for t in self.in_flight)

    def find(self, request_id: str) -> InFlight:
        for t in self.in_flight:
            if t.request_id == request_id:
                return t
        raise KeyError(f"request {request_id!r} is not in flight for {self.signer}")

    def with_sent(self, tx: InFlight) -> SignerState:
        """`tx` journaled at the next nonce; the following request gets the one after."""
        if tx.nonce != self.next_nonce:
            raise ValueError(
                f"{self.signer}: request {tx.request_id!r} signed at nonce {tx.nonce}, "
                f"expected {self.next_nonce}"
            )
        return dataclasses.replace(self, next_nonce=tx.nonce + 1, in_flight=(*self.in_flight, tx))

    def with_attempt(self, request_id: str, attempt: Attempt) -> SignerState:
        old = self.find(request_id)
        new = dataclasses.replace(old, attempts=(*old.attempts, attempt))
        return dataclasses.replace(
            self, in_flight=tuple(new if t is old else t for t in self.in_flight)
        )

    def with_outcome(self, request_id: str, keep_recent: int) -> SignerState:
        """`request_id` settled (or answered without a transaction): never act on it again."""
        recent = (*(r for r in self.recent if r != request_id), request_id)[-keep_recent:]
        return dataclasses.replace(
            self,
            in_flight=tuple(t for t in self.in_flight if t.request_id != request_id),
            recent=recent,
        )


def fresh_state(signer: str, chain_id: int, chain_pending_nonce: int) -> SignerState:
    """A signer the journal has never seen: start at the chain's pending transaction count."""
    return SignerState(signer, chain_id, chain_pending_nonce)


def resumed(state: SignerState, chain_pending_nonce: int) -> SignerState:
    """The journaled state after a restart.

    The journal may be ahead of the chain (a journaled transaction that was never broadcast:
    it is rebroadcast, its nonce stays taken) or behind it (someone else used the key; our
    next transaction must not collide with theirs), so take the larger.
    """
    return dataclasses.replace(state, next_nonce=max(state.next_nonce, chain_pending_nonce))


class Admission(StrEnum):
    SEND = "send"
    DUPLICATE = "duplicate"  # already in flight or answered: send nothing, say nothing
    EXPIRED = "expired"  # its deadline passed before it was sent


def admit(state: SignerState, request_id: str, not_after_ms: int | None, now_ms: int) -> Admission:
    if state.knows(request_id):
        return Admission.DUPLICATE
    if not_after_ms is not None and now_ms > not_after_ms:
        return Admission.EXPIRED
    return Admission.SEND


def initial_fees(base_fee: int, priority_fee: int, cap: int) -> Fees:
    """Room for the base fee to double twice-over before the transaction is priced out."""
    priority = min(priority_fee, cap)
    return Fees(min(2 * base_fee + priority, cap), priority)


def bump_due(tx: InFlight, now_ms: int, bump_after_ms: int) -> bool:
    return now_ms - tx.latest.signed_at_ms >= bump_after_ms


def bumped_fees(current: Fees, suggested: Fees, percent: int, cap: int) -> Fees | None:
    """Fees for a replacement of a stuck transaction, or None when the cap allows no bump.

    Both fields rise by at least `percent` (nodes refuse smaller replacements) and to at
    least what the node suggests now, never past `cap`.
    """
    if percent < MIN_BUMP_PERCENT:
        raise ValueError(
            f"a fee bump below {MIN_BUMP_PERCENT}% is refused by nodes, got {percent}%"
        )

    def raised(old: int, now: int) -> int:
        return max(-(-old * (100 + percent) // 100), old + 1, now)

    priority = raised(current.max_priority_fee_per_gas, suggested.max_priority_fee_per_gas)
    max_fee = max(raised(current.max_fee_per_gas, suggested.max_fee_per_gas), priority)
    if max_fee > cap:
        return None
    return Fees(max_fee, priority)


class Settlement(StrEnum):
    PENDING = "pending"  # its nonce is still open
    FOUND = "found"  # one of its attempts is mined: MINED or REVERTED by the receipt
    REPLACED = "replaced"  # its nonce was used by a transaction that is none of ours


def settlement(tx: InFlight, chain_nonce: int, receipt_found: bool) -> Settlement:
    """What became of `tx`, given the signer's mined transaction count and a receipt lookup."""
    if receipt_found:
        return Settlement.FOUND
    if tx.nonce < chain_nonce:
        return Settlement.REPLACED
    return Settlement.PENDING
