"""The Avro records the submitter reads and writes, as plain dicts for `schemas.codec`.

`SignerJournal` <-> `SignerState`, `TxRequest` -> `Request`, and builders for `TxOutcome` and
`DeadLetter`. Pure: times are epoch milliseconds passed in. fastavro hands timestamp-millis
back as aware datetimes, so they are turned into milliseconds at this one border.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from chain_bridge.submit_state import Attempt, Fees, InFlight, SignerState


class Status(StrEnum):
    """`TxStatus` of TxOutcome.v1."""

    MINED = "MINED"
    REVERTED = "REVERTED"
    REPLACED = "REPLACED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Request:
    request_id: str
    signer: str
    contract: str
    function: str
    args_json: str
    value_wei: str
    not_after_ms: int | None
    origin: str


def millis(value: datetime | int) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def request_from_record(rec: dict[str, Any]) -> Request:
    not_after = rec.get("not_after")
    return Request(
        request_id=rec["request_id"],
        signer=rec["signer"],
        contract=rec["contract"],
        function=rec["function"],
        args_json=rec["args_json"],
        value_wei=rec["value_wei"],
        not_after_ms=None if not_after is None else millis(not_after),
        origin=rec["origin"],
    )


def journal_record(state: SignerState, now_ms: int) -> dict[str, Any]:
    return {
        "signer": state.signer,
        "chain_id": state.chain_id,
        "next_nonce": state.next_nonce,
        "in_flight": [
            {
                "request_id": t.request_id,
                "nonce": t.nonce,
                "to": t.to,
                "data": t.data,
                "value_wei": str(t.value_wei),
                "gas": t.gas,
                "attempts": [
                    {
                        "tx_hash": a.tx_hash,
                        "raw_tx": a.raw_tx,
                        "max_fee_per_gas": str(a.fees.max_fee_per_gas),
                        "max_priority_fee_per_gas": str(a.fees.max_priority_fee_per_gas),
                        "signed_at": a.signed_at_ms,
                    }
                    for a in t.attempts
                ],
            }
            for t in state.in_flight
        ],
        "recent": list(state.recent),
        "updated_at": now_ms,
    }


def state_from_journal(rec: dict[str, Any]) -> SignerState:
    return SignerState(
        signer=rec["signer"],
        chain_id=rec["chain_id"],
        next_nonce=rec["next_nonce"],
        in_flight=tuple(
            InFlight(
                request_id=t["request_id"],
                nonce=t["nonce"],
                to=t["to"],
                data=bytes(t["data"]),
                value_wei=int(t["value_wei"]),
                gas=t["gas"],
                attempts=tuple(
                    Attempt(
                        tx_hash=a["tx_hash"],
                        raw_tx=bytes(a["raw_tx"]),
                        fees=Fees(int(a["max_fee_per_gas"]), int(a["max_priority_fee_per_gas"])),
                        signed_at_ms=millis(a["signed_at"]),
                    )
                    for a in t["attempts"]
                ),
            )
            for t in rec["in_flight"]
        ),
        recent=tuple(rec["recent"]),
    )


def outcome_record(
    request_id: str,
    signer: str,
    status: Status,
    now_ms: int,
    *,
    reason: str = "",
    tx_hash: str | None = None,
    nonce: int | None = None,
    block_number: int | None = None,
    gas_used: int | None = None,
    error_name: str | None = None,
    error_args_json: str | None = None,
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "signer": signer,
        "status": str(status),
        "tx_hash": tx_hash,
        "nonce": nonce,
        "block_number": block_number,
        "gas_used": gas_used,
        "error_name": error_name,
        "error_args_json": error_args_json,
        "reason": reason,
        "observed_at": now_ms,
    }
