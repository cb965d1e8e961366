"""Pure parts of the relay: Kafka partitioning, byte ranges, SSE parsing, the rate limiter,
and the image check against a validated result."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from relay_api.auth import RateLimiter
from relay_api.chain_reader import Deployment, output_fields
from relay_api.client.models import SseParser
from relay_api.delivery import check_image
from relay_api.download import byte_range
from relay_api.errors import RateLimited
from relay_api.partitioning import murmur2, partition_of
from schemas.phash import phash_png


def test_murmur2_matches_kafkas_reference_values() -> None:
    # From Kafka's UtilsTest.testMurmur2 (as signed ints there).
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
             b"a-little-bit-longer-string": -1486304829, b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
             b"abc": 479470107}  # fmt: skip
    for data, signed in cases.items():
        assert murmur2(data) == signed & 0xFFFFFFFF


def test_partition_of_is_positive_modulo() -> None:
    assert all(0 <= partition_of(str(i).encode(), 6) < 6 for i in range(100))


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("bytes=0-9", (0, 10)), ("bytes=5-", (5, 100)), ("bytes=-10", (90, 100)),
     ("bytes=90-200", (90, 100)), ("bytes=100-", "unsatisfiable"), ("bytes=-0", "unsatisfiable"),
     ("bytes=0-1,5-6", None), ("items=0-1", None), ("bytes=9-3", "unsatisfiable")],
)  # fmt: skip
def test_byte_ranges(header: str | None, expected: object) -> None:
    assert byte_range(header, 100) == expected


def test_sse_parser_reads_id_event_and_data_and_skips_comments() -> None:
    parser = SseParser()
    lines = [": keep-alive", "", "id: 7", "event: status", 'data: {"to_status":"Running"}', ""]
    events = [e for e in (parser.feed_line(line) for line in lines) if e is not None]
    assert [(e.id, e.event, e.to_status) for e in events] == [("7", "status", "Running")]
    assert parser.last_id == "7"


def test_the_rate_limiter_allows_the_rate_then_refuses_until_tokens_refill() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    for _ in range(3):
        limiter.take(1, 3)
    with pytest.raises(RateLimited, match=r"retry in 20\.0s"):
        limiter.take(1, 3)
    now[0] = 20.0
    limiter.take(1, 3)
    limiter.take(2, 3)  # another key has its own bucket


def _png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).resize((64, 64), Image.Resampling.BICUBIC).save(out, format="PNG")
    return out.getvalue()


def test_an_image_matches_its_own_phash_and_not_anothers() -> None:
    a, b = _png(40), _png(90)
    result = phash_png(a) + phash_png(b)
    assert check_image("SD", result, 0, a, threshold=0) is None
    assert check_image("SD", result, 1, b, threshold=0) is None
    mismatch = check_image("SD", result, 0, b, threshold=0)
    assert mismatch is not None and "bits from the validated" in mismatch.reason
    beyond = check_image("SD", result, 2, a, threshold=0)
    assert beyond is not None and "no index 2" in beyond.reason


def test_an_llm_output_must_hash_to_the_result_exactly() -> None:
    output = b'{"choices": []}'
    assert check_image("LLM", hashlib.sha256(output).digest(), 0, output, threshold=10) is None
    assert check_image("LLM", hashlib.sha256(b"x").digest(), 0, output, threshold=10) is not None


def test_a_deployment_record_of_other_contracts_is_refused_by_name(tmp_path: Path) -> None:
    stale = tmp_path / "deployment.json"
    stale.write_text(json.dumps({"chainId": 31337, "contracts": {"DevnetBeacon": {}}}))
    with pytest.raises(ValueError, match=r"deployment\.json has no 'TaskManager'"):
        Deployment.load(stale)


def test_view_fields_come_from_the_abi_in_order() -> None:
    abi = [
        {"type": "event", "name": "getTask"},
        {
            "type": "function",
            "name": "getTask",
            "outputs": [{"type": "tuple", "components": [{"name": "creator"}, {"name": "fee"}]}],
        },
    ]
    assert output_fields(abi, "getTask") == ("creator", "fee")
    with pytest.raises(ValueError, match="no function 'getNode'"):
        output_fields(abi, "getNode")
