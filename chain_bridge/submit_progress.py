"""What became of the transactions in flight: receipts, replaced nonces, fee bumps.

One pass over every signer with transactions in flight, asked once per loop step. It only
decides: the new signer states, the outcomes to publish and the attempts to broadcast go back
to the loop, which commits them in its Kafka transaction before anything is broadcast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chain_bridge.revert import RevertDecoder
from chain_bridge.signers import KeyRing, sign_attempt
from chain_bridge.submit_chain import ChainClient, Receipt
from chain_bridge.submit_records import Status
from chain_bridge.submit_settings import SubmitSettings
from chain_bridge.submit_state import (
    Attempt,
    Fees,
    InFlight,
    Settlement,
    SignerState,
    bump_due,
    bumped_fees,
    settlement,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """An outcome for a transaction that left the journal: TxOutcome fields beyond the ids."""

    request_id: str
    signer: str
    status: Status
    fields: dict[str, Any]


@dataclass
class Progress:
    states: dict[str, SignerState] = field(default_factory=dict)
    settled: list[Settled] = field(default_factory=list)
    broadcasts: list[tuple[str, int, Attempt]] = field(default_factory=list)
    rebroadcasts: list[tuple[str, int, Attempt]] = field(default_factory=list)


class InFlightWatcher:
    def __init__(
        self,
        settings: SubmitSettings,
        keys: KeyRing,
        chain: ChainClient,
        reverts: RevertDecoder,
        chain_id: int,
    ) -> None:
        self._s = settings
        self._keys = keys
        self._chain = chain
        self._reverts = reverts
        self._chain_id = chain_id
        self._nudged_at: dict[str, int] = {}  # request id -> ms of its last plain rebroadcast

    def advance(
        self, states: Mapping[str, SignerState], now_ms: int, fees: Callable[[], Fees]
    ) -> Progress:
        """`fees()` is what the node suggests now; asked only when a bump needs it."""
        progress = Progress()
        head = self._chain.head() if self._s.confirmations else 0
        for signer, state in sorted(states.items()):
            if not state.in_flight:
                continue
            # The count first, receipts second: a nonce counted as mined here already has
            # its receipt, so "no receipt" below really means another transaction took it.
            mined = self._chain.nonce(signer, "latest")
            changed = state
            for tx in state.in_flight:
                receipt = None
                if tx.nonce < mined:
                    found = (self._chain.receipt(h) for h in tx.hashes)
                    receipt = next((r for r in found if r is not None), None)
                verdict = settlement(tx, mined, receipt is not None)
                if verdict is Settlement.FOUND and receipt is not None:
                    if (
                        self._s.confirmations
                        and receipt.block_number + self._s.confirmations > head
                    ):
                        continue
                    changed = self._settle(
                        progress, changed, tx, *self._mined(changed, tx, receipt)
                    )
                elif verdict is Settlement.REPLACED:
                    reason = f"nonce {tx.nonce} was used by a transaction none of {list(tx.hashes)}"
                    changed = self._settle(
                        progress, changed, tx, Status.REPLACED, {"reason": reason}
                    )
                elif bump_due(tx, now_ms, int(self._s.bump_after_s * 1000)):
                    changed = self._bump(progress, changed, tx, now_ms, fees)
            if changed is not state:
                progress.states[signer] = changed
        return progress

    def _mined(
        self, state: SignerState, tx: InFlight, receipt: Receipt
    ) -> tuple[Status, dict[str, Any]]:
        fields: dict[str, Any] = {
            "tx_hash": receipt.tx_hash,
            "block_number": receipt.block_number,
            "gas_used": receipt.gas_used,
        }
        if receipt.status == 1:
            return Status.MINED, fields
        data = self._chain.replay_revert(
            state.signer, tx.to, tx.data, tx.value_wei, tx.gas, receipt.block_number
        )
        revert = self._reverts.decode(data)
        fields |= {
            "error_name": revert.name,
            "error_args_json": revert.args_json,
            "reason": f"reverted on chain: {revert.reason}",
        }
        return Status.REVERTED, fields

    def _settle(
        self,
        progress: Progress,
        state: SignerState,
        tx: InFlight,
        status: Status,
        fields: dict[str, Any],
    ) -> SignerState:
        progress.settled.append(
            Settled(tx.request_id, state.signer, status, {"nonce": tx.nonce, **fields})
        )
        self._nudged_at.pop(tx.request_id, None)
        return state.with_outcome(tx.request_id, self._s.recent_request_ids)

    def _bump(
        self,
        progress: Progress,
        state: SignerState,
        tx: InFlight,
        now_ms: int,
        suggested: Callable[[], Fees],
    ) -> SignerState:
        fees = bumped_fees(
            tx.latest.fees, suggested(), self._s.fee_bump_percent, self._s.max_fee_per_gas_wei
        )
        if fees is None:
            # At the cap: only make sure the node still has it, once per bump period.
            if now_ms - self._nudged_at.get(tx.request_id, 0) >= self._s.bump_after_s * 1000:
                self._nudged_at[tx.request_id] = now_ms
                progress.rebroadcasts.append((tx.request_id, tx.nonce, tx.latest))
            return state
        attempt = sign_attempt(
            self._keys.account(state.signer),
            self._chain_id,
            tx.nonce,
            tx.to,
            tx.data,
            tx.value_wei,
            tx.gas,
            fees,
            now_ms,
        )
        progress.broadcasts.append((tx.request_id, tx.nonce, attempt))
        log.info(
            "fee bump request_id=%s signer=%s nonce=%d tx=%s max_fee=%d priority=%d",
            tx.request_id,
            state.signer,
            tx.nonce,
            attempt.tx_hash,
            fees.max_fee_per_gas,
            fees.max_priority_fee_per_gas,
        )
        return state.with_attempt(tx.request_id, attempt)
