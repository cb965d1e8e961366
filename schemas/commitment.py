"""The commit-reveal format that our nodes and `TaskManager` must agree on, byte for byte.

`TaskManager.disclose` accepts a result only when

    keccak256(abi.encodePacked(result, nonce)) == the node's commitment

with `result` a dynamic `bytes` and `nonce` a `bytes32`. `abi.encodePacked` of those two is
their plain concatenation, so the commitment is keccak-256 over `result ‖ nonce`.

A result is an SD result (8-byte p-hashes, concatenated), an LLM result (32-byte sha256), or an
error report: exactly one non-zero byte, the error code (`ResultCompare.errorCode`). No valid
result is one byte long, so an error report is committed and disclosed like any result.
"""

from __future__ import annotations

from eth_hash.auto import keccak

NONCE_BYTES = 32


def commitment(result: bytes, nonce: bytes) -> bytes:
    """The 32-byte commitment `submitCommitment` takes for `result` and `nonce`."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes (a bytes32), got {len(nonce)}")
    if not result:
        raise ValueError("result must not be empty: the contract rejects an empty result")
    return bytes(keccak(bytes(result) + bytes(nonce)))


def error_report(code: int) -> bytes:
    """The result a node discloses to report error `code` (1..255) instead of a result."""
    if not 1 <= code <= 255:
        raise ValueError(f"an error code is one non-zero byte (1..255), got {code}")
    return bytes([code])


def error_code(result: bytes) -> int:
    """The code of an error report, 0 for a result: `ResultCompare.errorCode`."""
    return result[0] if len(result) == 1 else 0


PHASH_BYTES = 8
MAX_IMAGES = 32
LLM_RESULT_BYTES = 32
_LLM = 1  # TaskType.LLM in HydrogenTypes.sol


def is_well_formed(task_type: int, result: bytes) -> bool:
    """`ResultCompare.isWellFormed`: what `disclose` accepts for a task of `task_type`."""
    if len(result) == 1:
        return result[0] != 0
    if task_type == _LLM:
        return len(result) == LLM_RESULT_BYTES
    return 0 < len(result) <= PHASH_BYTES * MAX_IMAGES and len(result) % PHASH_BYTES == 0
