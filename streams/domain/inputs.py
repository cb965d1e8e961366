"""Typed views of the inputs that do not come from the chain.

- InferenceResult: what our GPU worker reports on `inference.results` for one of our nodes,
  plus the commitment nonce the saga's caller derives for it (`derive_nonce`).
- TxOutcome: what became of one of our tx requests (`chain.tx-outcomes`, record TxOutcome).
- Tick: time passing, for the deadline keeper.

Nonces. The domain draws no randomness: the caller derives each nonce as
HMAC-SHA256(secret, "chain_id:task_id:node"). It is unpredictable to anyone without the secret
(what commit-reveal needs) and the same on every replay, so a replayed saga computes the same
commitment and the same deterministic request.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from streams.domain.errors import BadInferenceResult, MalformedRecord


@dataclass(frozen=True)
class InferenceResult:
    """Our node `node` finished task `task_id`: a result, or an error code (1..255)."""

    task_id: str
    node: str
    result: bytes | None
    error_code: int | None
    nonce: bytes  # 32 bytes, from derive_nonce

    def __post_init__(self) -> None:
        if (self.result is None) == (self.error_code is None):
            raise BadInferenceResult(
                f"task {self.task_id} node {self.node}: give a result or an error code, not"
                f" {'both' if self.result is not None else 'neither'}"
            )


class TxStatus(StrEnum):
    """`TxStatus` of TxOutcome.v1."""

    MINED = "MINED"
    REVERTED = "REVERTED"
    REPLACED = "REPLACED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


def retry_can_help(
    outcome: TxStatus | None, error_name: str | None, retryable: frozenset[str] = frozenset()
) -> bool:
    """Whether a failed request may succeed when made again: it was never mined (REPLACED,
    EXPIRED), or it reverted without a decoded error (a node hiccup) or with one of the
    `retryable` errors. A named error is an answer, and asking again would get it again."""
    if outcome in (TxStatus.REPLACED, TxStatus.EXPIRED):
        return True
    return outcome is TxStatus.REVERTED and (error_name is None or error_name in retryable)


@dataclass(frozen=True)
class TxOutcome:
    request_id: str
    status: TxStatus
    error_name: str | None = None  # the decoded custom error of a revert
    tx_hash: str | None = None
    observed_at: int = 0  # epoch ms

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TxOutcome:
        try:
            status = TxStatus(record["status"])
            observed = record["observed_at"]
            return cls(
                request_id=str(record["request_id"]),
                status=status,
                error_name=record.get("error_name"),
                tx_hash=record.get("tx_hash"),
                observed_at=(
                    round(observed.timestamp() * 1000)
                    if isinstance(observed, datetime)
                    else int(observed)
                ),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise MalformedRecord(f"TxOutcome record {dict(record)!r} does not fit: {exc}") from exc


@dataclass(frozen=True)
class Tick:
    now_ms: int


def derive_nonce(secret: bytes, chain_id: int, task_id: str, node: str) -> bytes:
    """The 32-byte nonce of `node`'s commitment in task `task_id` (see the module docstring)."""
    if len(secret) < 16:
        raise ValueError(f"the nonce secret must have at least 16 bytes, got {len(secret)}")
    message = f"{chain_id}:{task_id}:{node}".encode()
    return hmac.new(secret, message, hashlib.sha256).digest()
