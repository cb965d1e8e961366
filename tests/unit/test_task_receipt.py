"""What an app got from a task, checked against the chain, and the receipt recording it."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hydrogen.app.receipt import (
    answer_text,
    build_receipt,
    check_document,
    check_image,
    expected_results,
    receipt_name,
    result_names,
)
from hydrogen.app.task_view import ChainEvent, TaskView, output_fields, transactions
from schemas.phash import phash

NODES = ["0x" + c * 40 for c in "abc"]
ZERO = "0x" + "00" * 20
VIEW_FIELDS = (
    "creator",
    "taskType",
    "status",
    "abortReason",
    "vramTier",
    "minVram",
    "fee",
    "createdAt",
    "deadline",
    "argsHash",
    "resultNode",
    "members",
    "commitments",
    "results",
)


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def pixels_hash(data: bytes) -> bytes:
    return phash(Image.open(io.BytesIO(data)))


def view(
    status: int = 5, result: bytes = b"", task_type: int = 0, members: int = 3, reason: int = 0
) -> TaskView:
    selected = NODES[:members] + [ZERO] * (3 - members)
    member_tuples = [
        (n, i + 1 if n != ZERO else 0, 0, n != ZERO, n != ZERO) for i, n in enumerate(selected)
    ]
    results = [result if i == 1 else b"" for i in range(3)]
    values = (
        NODES[0],
        task_type,
        status,
        reason,
        0,
        0,
        10**16,
        1_700_000_000,
        0,
        b"\x11" * 32,
        NODES[1] if result else ZERO,
        member_tuples,
        [b"\x00" * 32] * 3,
        results,
    )
    return TaskView.of(7, VIEW_FIELDS, values)


def test_the_view_reads_the_abi_struct_by_field_name() -> None:
    abi: list[dict[str, Any]] = [
        {
            "type": "function",
            "name": "getTask",
            "outputs": [{"components": [{"name": n} for n in VIEW_FIELDS]}],
        },
    ]
    assert output_fields(abi, "getTask") == VIEW_FIELDS
    with pytest.raises(ValueError, match="'getTusk'"):
        output_fields(abi, "getTusk")
    v = view(status=5, result=b"\x01" * 16)
    assert v.status == "Completed" and v.kind == "SD" and v.ended
    assert v.nodes == tuple(NODES)
    assert v.commits == 3
    assert v.result_node == NODES[1]
    assert v.result == b"\x01" * 16  # the result node's disclosure
    assert v.abort_reason is None


def test_a_queued_view_has_no_nodes_and_no_result() -> None:
    v = view(status=1, members=0)
    assert v.status == "Queued" and not v.ended
    assert v.nodes == () and v.result is None and v.result_node is None
    assert v.observation().status == "Queued"


def test_an_aborted_view_names_its_reason() -> None:
    v = view(status=6, reason=2)
    assert (v.status, v.abort_reason) == ("Aborted", "NoConsensus")


def test_an_image_matches_when_its_phash_is_the_validated_one() -> None:
    data = png(1)
    check = check_image(0, data, pixels_hash(data), threshold=0, file="out/task-7-0.png")
    assert check.ok and check.distance == 0
    assert check.actual == check.expected == pixels_hash(data).hex()
    assert check.sha256 == hashlib.sha256(data).hexdigest()


def test_an_image_of_other_pixels_does_not_match_and_says_by_how_much() -> None:
    other = pixels_hash(png(2))
    check = check_image(1, png(1), other, threshold=5)
    assert not check.ok
    assert check.distance is not None and check.distance > 5
    assert check.problem is not None and f"{check.distance} bits" in check.problem
    assert other.hex() in check.problem


def test_an_image_within_the_threshold_matches() -> None:
    data = png(1)
    near = bytearray(pixels_hash(data))
    near[0] ^= 0b11
    check = check_image(0, data, bytes(near), threshold=2)
    assert check.ok and check.distance == 2


def test_a_file_that_is_no_png_does_not_match() -> None:
    check = check_image(0, b"GIF89a....", b"\x00" * 8, threshold=5)
    assert not check.ok and check.actual is None
    assert check.problem is not None and "not a PNG" in check.problem


def test_an_llm_document_matches_by_its_sha256_exactly() -> None:
    document = json.dumps({"choices": [{"message": {"content": "blue"}}]}).encode()
    good = check_document(document, hashlib.sha256(document).digest())
    bad = check_document(document + b" ", hashlib.sha256(document).digest())
    assert good.ok and not bad.ok
    assert answer_text(document) == "blue"
    with pytest.raises(ValueError, match="not a response document"):
        answer_text(b'{"choices": []}')


def test_expected_results_and_names_follow_the_kind() -> None:
    assert expected_results("SD", b"\x01" * 8 + b"\x02" * 8) == [b"\x01" * 8, b"\x02" * 8]
    assert expected_results("LLM", b"\x03" * 32) == [b"\x03" * 32]
    assert result_names(7, "SD", 2) == ["task-7-0.png", "task-7-1.png"]
    assert result_names(7, "LLM", 1) == ["task-7-0.json"]
    assert receipt_name(7) == "task-7.receipt.json"


def event(name: str, block: int, tx: str, **args: object) -> ChainEvent:
    return ChainEvent(name, tx, block, 0, 1000 + block, args)


def test_transactions_come_from_the_events_in_chain_order() -> None:
    events = [
        event("TaskCompleted", 9, "0x09"),
        event("TaskCreated", 1, "0x01"),
        event("CommitmentSubmitted", 3, "0x03", node=NODES[0]),
        event("CommitmentSubmitted", 4, "0x04", node=NODES[1]),
        event("ResultDisclosed", 6, "0x06", node=NODES[1]),
        event("TaskValidated", 7, "0x07"),
        event("NodeSelected", 2, "0x02"),
    ]
    assert transactions(events) == {
        "create": "0x01",
        "commits": [{"node": NODES[0], "tx": "0x03"}, {"node": NODES[1], "tx": "0x04"}],
        "discloses": [{"node": NODES[1], "tx": "0x06"}],
        "validated": "0x07",
        "completed": "0x09",
    }


def test_the_receipt_of_an_sd_task_records_nodes_hashes_txs_timings_and_files() -> None:
    images = [png(1), png(2)]
    hashes = [pixels_hash(i) for i in images]
    v = view(result=b"".join(hashes))
    checks = [
        check_image(i, d, h, 5, f"task-7-{i}.png")
        for i, (d, h) in enumerate(zip(images, hashes, strict=True))
    ]
    receipt = build_receipt(
        view=v,
        chain_id=31337,
        task_manager="0xTM",
        relay_url="http://relay",
        transactions={"create": "0x01"},
        timings_s={"queued": 0.5},
        timings_source="observed",
        checks=checks,
        model_ids=["base:tiny-sd15"],
    )
    assert receipt["task_id"] == 7 and receipt["status"] == "Completed"
    assert receipt["nodes"] == NODES and receipt["result_node"] == NODES[1]
    assert receipt["phashes"] == [h.hex() for h in hashes]
    assert [f["actual"] for f in receipt["files"]] == receipt["phashes"]
    assert [f["file"] for f in receipt["files"]] == ["task-7-0.png", "task-7-1.png"]
    assert receipt["transactions"] == {"create": "0x01"}
    assert receipt["timings_s"] == {"queued": 0.5}
    assert receipt["args_hash"] == "0x" + "11" * 32
    assert receipt["verified"] is True
    assert json.loads(json.dumps(receipt)) == receipt  # plain JSON all the way down


def test_a_receipt_with_a_bad_file_is_not_verified() -> None:
    good = png(1)
    v = view(result=pixels_hash(good) + pixels_hash(png(2)))
    checks = [
        check_image(0, good, pixels_hash(good), 5),
        check_image(1, good, pixels_hash(png(2)), 5),
    ]
    receipt = build_receipt(
        view=v,
        chain_id=1,
        task_manager="0xTM",
        relay_url="r",
        transactions={},
        timings_s={},
        timings_source="observed",
        checks=checks,
    )
    assert receipt["verified"] is False
    assert [f["ok"] for f in receipt["files"]] == [True, False]


def test_the_receipt_of_an_aborted_task_has_no_result_and_is_not_verified() -> None:
    receipt = build_receipt(
        view=view(status=6, reason=1),
        chain_id=1,
        task_manager="0xTM",
        relay_url="r",
        transactions={"create": "0x01", "aborted": "0x05"},
        timings_s={"running": 3.0},
        timings_source="observed",
        checks=[],
    )
    assert receipt["status"] == "Aborted" and receipt["abort_reason"] == "Timeout"
    assert receipt["result"] is None and receipt["phashes"] == []
    assert receipt["verified"] is False


def test_the_receipt_of_an_llm_task_holds_the_answer_and_the_result_sha256() -> None:
    document = b'{"choices":[{"message":{"content":"hi"}}]}'
    digest = hashlib.sha256(document).digest()
    receipt = build_receipt(
        view=view(result=digest, task_type=1),
        chain_id=1,
        task_manager="0xTM",
        relay_url="r",
        transactions={},
        timings_s={},
        timings_source="block-times",
        checks=[check_document(document, digest)],
        answer="hi",
    )
    assert receipt["kind"] == "LLM"
    assert receipt["result_sha256"] == digest.hex()
    assert receipt["answer"] == "hi"
    assert "phashes" not in receipt
    assert receipt["verified"] is True
