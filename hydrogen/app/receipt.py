"""What an app got from a task, checked against the chain, and the receipt that records it.

Pure: bytes and chain values in, checks and a JSON-ready dict out. An SD image matches when
its p-hash (`schemas.phash`, the one the nodes and the relay compute) is within the contract's
threshold of the p-hash the chain validated for it, as the relay checks it before delivering.
An LLM result matches when the delivered document's sha256 is the validated result, exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydrogen.app.task_view import TaskView
from schemas.phash import hamming, phash_png, split_result

RECEIPT_VERSION = 1


@dataclass(frozen=True)
class ResultCheck:
    """One delivered file against the chain's validated result."""

    index: int
    file: str | None  # where it was written; None when it was not
    sha256: str
    size: int
    expected: str  # the validated p-hash (SD) or sha256 (LLM), hex
    actual: str | None  # the file's p-hash (SD) or sha256 (LLM); None if unreadable
    distance: int | None  # bits from the expected p-hash (SD); None for LLM
    problem: str | None  # why it does not match; None when it does

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "file": self.file,
            "sha256": self.sha256,
            "size": self.size,
            "expected": self.expected,
            "actual": self.actual,
            "distance": self.distance,
            "ok": self.ok,
            "problem": self.problem,
        }


def result_names(task_id: int, kind: str, count: int) -> list[str]:
    """The file names results are saved under: task-<id>-<i>.png (SD), task-<id>-0.json (LLM)."""
    ext = "png" if kind == "SD" else "json"
    return [f"task-{task_id}-{i}.{ext}" for i in range(count)]


def receipt_name(task_id: int) -> str:
    return f"task-{task_id}.receipt.json"


def expected_results(kind: str, result: bytes) -> list[bytes]:
    """What each delivered file must match: a p-hash per SD image, one sha256 for LLM."""
    return split_result(result) if kind == "SD" else [result]


def check_image(
    index: int, data: bytes, expected: bytes, threshold: int, file: str | None = None
) -> ResultCheck:
    sha = hashlib.sha256(data).hexdigest()
    try:
        actual = phash_png(data)
    except ValueError as exc:
        return ResultCheck(index, file, sha, len(data), expected.hex(), None, None, str(exc))
    distance = hamming(actual, expected)
    problem = None
    if distance > threshold:
        problem = (
            f"image {index}: p-hash {actual.hex()} is {distance} bits from the validated "
            f"{expected.hex()} (at most {threshold})"
        )
    return ResultCheck(index, file, sha, len(data), expected.hex(), actual.hex(), distance, problem)


def check_document(data: bytes, expected: bytes, file: str | None = None) -> ResultCheck:
    digest = hashlib.sha256(data).digest()
    problem = None
    if digest != expected:
        problem = f"answer's sha256 {digest.hex()} is not the validated {expected.hex()}"
    return ResultCheck(
        index=0,
        file=file,
        sha256=digest.hex(),
        size=len(data),
        expected=expected.hex(),
        actual=digest.hex(),
        distance=None,
        problem=problem,
    )


def answer_text(document: bytes) -> str:
    """The first choice's text of an LLM response document (Crynux's format); ValueError
    when the document is not one."""
    try:
        choices = json.loads(document)["choices"]
        content = choices[0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"the LLM result is not a response document: {exc!r}") from exc
    if not isinstance(content, str):
        raise ValueError(f"the LLM answer is not text: {content!r:.80}")
    return content


def build_receipt(
    *,
    view: TaskView,
    chain_id: int,
    task_manager: str,
    relay_url: str,
    transactions: Mapping[str, Any],
    timings_s: Mapping[str, float],
    timings_source: str,
    checks: Sequence[ResultCheck],
    model_ids: Sequence[str] = (),
    answer: str | None = None,
) -> dict[str, Any]:
    """The receipt of a task as JSON: who ran it, what the chain validated, which
    transactions moved it, how long each phase took, and each file with its check."""
    result = view.result
    receipt: dict[str, Any] = {
        "receipt_version": RECEIPT_VERSION,
        "task_id": view.task_id,
        "kind": view.kind,
        "status": view.status,
        "abort_reason": view.abort_reason,
        "chain_id": chain_id,
        "task_manager": task_manager,
        "relay_url": relay_url,
        "creator": view.creator,
        "fee_wei": str(view.fee_wei),
        "args_hash": "0x" + view.args_hash.hex(),
        "model_ids": list(model_ids),
        "nodes": list(view.nodes),
        "result_node": view.result_node,
        "result": "0x" + result.hex() if result else None,
        "transactions": dict(transactions),
        "timings_s": dict(timings_s),
        "timings_source": timings_source,
        "files": [c.as_json() for c in checks],
        "verified": bool(checks) and all(c.ok for c in checks),
    }
    if view.kind == "SD":
        receipt["phashes"] = [h.hex() for h in split_result(result)] if result else []
    else:
        receipt["result_sha256"] = result.hex() if result else None
        receipt["answer"] = answer
    return receipt
