"""What a TxOutcome means for the operator: the lines to print and the exit status.

Exit statuses of the node commands:

    0  MINED: the registry did it
    1  REVERTED, REJECTED, EXPIRED or REPLACED: it did not happen
    3  no outcome within --timeout: unknown yet (the request may still be sent or mined)

(2 is click's, for a usage error: nothing was published.) Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hydrogen.node_ops.inputs import format_wei
from hydrogen.node_ops.node_view import status_label

EXIT_MINED = 0
EXIT_NOT_DONE = 1
EXIT_NO_OUTCOME = 3

# Registry errors whose `status` argument is a NodeStatus number.
_STATUS_ERRORS = frozenset({"InvalidNodeStatus", "AlreadyRegistered"})
# Registry errors whose arguments are amounts of wei.
_WEI_ERRORS = frozenset({"StakeTooLow", "PoolTooSmall"})


@dataclass(frozen=True)
class Outcome:
    """TxOutcome.v1, as the node commands use it."""

    request_id: str
    signer: str
    status: str  # MINED, REVERTED, REPLACED, EXPIRED, REJECTED
    tx_hash: str | None = None
    nonce: int | None = None
    block_number: int | None = None
    gas_used: int | None = None
    error_name: str | None = None
    error_args_json: str | None = None
    reason: str = ""

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Outcome:
        return cls(
            request_id=rec["request_id"],
            signer=rec["signer"],
            status=str(rec["status"]),
            tx_hash=rec.get("tx_hash"),
            nonce=rec.get("nonce"),
            block_number=rec.get("block_number"),
            gas_used=rec.get("gas_used"),
            error_name=rec.get("error_name"),
            error_args_json=rec.get("error_args_json"),
            reason=rec.get("reason") or "",
        )

    @property
    def error_args(self) -> dict[str, Any]:
        if not self.error_args_json:
            return {}
        try:
            args = json.loads(self.error_args_json)
        except ValueError:
            return {}
        return args if isinstance(args, dict) else {}


def exit_status(outcome: Outcome | None) -> int:
    if outcome is None:
        return EXIT_NO_OUTCOME
    return EXIT_MINED if outcome.status == "MINED" else EXIT_NOT_DONE


def error_text(outcome: Outcome) -> str:
    """`InvalidNodeStatus(node=0x…, status=None)`: the custom error with readable arguments."""
    if outcome.error_name is None:
        return ""
    args = outcome.error_args
    shown = []
    for name, value in args.items():
        if outcome.error_name in _STATUS_ERRORS and name == "status" and isinstance(value, int):
            shown.append(f"{name}={status_label(value)}")
        elif outcome.error_name in _WEI_ERRORS and isinstance(value, int | str):
            shown.append(f"{name}={format_wei(int(value))}")
        else:
            shown.append(f"{name}={value}")
    return f"{outcome.error_name}({', '.join(shown)})"


def describe(action: str, node: str, outcome: Outcome) -> list[str]:
    """The result lines: what happened to `action` of `node`, with the tx and the error."""
    head = f"{action} {node}: {outcome.status}"
    if outcome.status == "MINED":
        return [
            f"{head} in block {outcome.block_number}",
            f"tx {outcome.tx_hash} (nonce {outcome.nonce}, gas {outcome.gas_used})",
        ]
    if outcome.status == "REVERTED":
        lines = [f"{head} {error_text(outcome) or '(no custom error)'}"]
        if outcome.tx_hash:
            lines.append(f"tx {outcome.tx_hash} reverted in block {outcome.block_number}")
        else:
            lines.append("not sent: the call reverts on the chain's current state")
        # The reason repeats the error with raw numbers; it helps only when no name was found.
        return [*lines, outcome.reason] if outcome.reason and not outcome.error_name else lines
    hints = {
        "REJECTED": "the submitter will not send it",
        "EXPIRED": "not sent before its deadline (is `hydrogen bridge submit` running?)",
        "REPLACED": "another transaction took its nonce",
    }
    return [f"{head}: {hints.get(outcome.status, 'not done')}", outcome.reason]


def as_json(action: str, node: str, outcome: Outcome | None, request_id: str) -> dict[str, Any]:
    """The `--json` result; `status` is null when no outcome came in time."""
    if outcome is None:
        return {"action": action, "node": node, "request_id": request_id, "status": None}
    return {
        "action": action,
        "node": node,
        "request_id": request_id,
        "status": outcome.status,
        "tx_hash": outcome.tx_hash,
        "nonce": outcome.nonce,
        "block_number": outcome.block_number,
        "gas_used": outcome.gas_used,
        "error_name": outcome.error_name,
        "error_args": outcome.error_args or None,
        "reason": outcome.reason,
    }


def no_outcome_lines(request_id: str, waited_s: float) -> list[str]:
    """What to say when the wait ran out (past the request's deadline: the submitter sends
    it no more, but may have sent it before and be waiting for its receipt)."""
    return [
        f"no outcome for request {request_id} after {waited_s:.0f}s; past its deadline it is "
        "never sent, unless it already was.",
        "Is `hydrogen bridge submit` running and holding the node's key? Wait for this "
        f"request's answer, without sending it twice: --request-id {request_id}",
    ]
