"""What `hydrogen events tail` shows of a message: decoding, filters, human and JSON lines."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from hydrogen.analytics.errors import BadValue
from hydrogen.analytics.tail_record import (
    TailFilter,
    TailRecord,
    decode,
    human_line,
    json_document,
    json_line,
    node_filter,
    task_id_filter,
    timestamp_text,
)
from schemas.codec import HEADER_LEN, MAGIC, Codec

CODEC = Codec()
NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
OTHER = "0x1111111111111111111111111111111111111111"
TS = 1_772_359_200_123  # 2026-03-01T10:00:00.123Z


def selected(task_id: str = "17", node: str = NODE) -> dict[str, Any]:
    return {
        "event_id": "31337:0xab:3",
        "chain_id": 31337,
        "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "block_number": 100,
        "block_hash": "0x" + "cd" * 32,
        "block_time": TS,
        "tx_hash": "0x" + "ab" * 32,
        "log_index": 3,
        "task_id": task_id,
        "node": node,
        "slot": 1,
    }


def message(value: bytes | None, key: bytes | None = b"17") -> TailRecord:
    return decode(CODEC, "chain.task-events", 4, 42, TS, key, value)


def test_a_record_decodes_to_its_name_and_fields() -> None:
    rec = message(CODEC.encode("NodeSelected", selected()))
    assert (rec.record_name, rec.error) == ("NodeSelected", None)
    assert rec.record is not None
    assert rec.record["node"] == NODE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"garbage", "not an Avro single-object message"),
        (MAGIC + b"\x00" * 8 + b"\x01", "unknown writer schema fingerprint"),
        (None, "no value (tombstone)"),
    ],
)
def test_a_message_that_does_not_decode_keeps_the_reason(value: bytes | None, reason: str) -> None:
    rec = message(value)
    assert rec.record is None
    assert rec.error is not None
    assert reason in rec.error


def test_a_truncated_body_is_reported_not_raised() -> None:
    good = CODEC.encode("NodeSelected", selected())
    rec = message(good[: HEADER_LEN + 3])
    assert rec.record is None
    assert "body is not readable" in (rec.error or "")


@pytest.mark.parametrize(("text", "expected"), [("17", "17"), (" 007 ", "7"), ("0", "0")])
def test_a_task_id_is_spelled_as_keys_spell_it(text: str, expected: str) -> None:
    assert task_id_filter(text) == expected


@pytest.mark.parametrize("text", ["abc", "-1", "", "1.5", "0x11"])
def test_a_task_id_that_is_not_a_number_is_refused_by_value(text: str) -> None:
    with pytest.raises(BadValue) as caught:
        task_id_filter(text)
    assert caught.value.value == text


@pytest.mark.parametrize(
    "text", ["0x123", "90F79bf6EB2c4f870365E785982E1f101E93b906", "0x" + "g" * 40]
)
def test_an_address_that_is_not_one_is_refused_by_value(text: str) -> None:
    with pytest.raises(BadValue, match="not an address"):
        node_filter(text)


def test_the_task_filter_keeps_the_tasks_key_or_its_task_id_field() -> None:
    keep = TailFilter(task_id="17")
    assert keep.matches(message(CODEC.encode("NodeSelected", selected("99")), key=b"17"))
    assert keep.matches(message(CODEC.encode("NodeSelected", selected("17")), key=NODE.encode()))
    assert not keep.matches(message(CODEC.encode("NodeSelected", selected("99")), key=b"99"))
    assert not keep.matches(message(CODEC.encode("NodeSelected", selected("170")), key=b"170"))


def test_an_undecodable_message_matches_by_its_key_only() -> None:
    assert TailFilter(task_id="17").matches(message(b"garbage", key=b"17"))
    assert not TailFilter(task_id="17").matches(message(b"garbage", key=b"18"))
    assert not TailFilter(node=NODE.lower()).matches(message(b"garbage", key=None))


def test_the_node_filter_finds_the_node_in_the_key_or_any_field_whatever_the_case() -> None:
    keep = TailFilter(node=node_filter(NODE.upper().replace("0X", "0x")))
    assert keep.matches(message(CODEC.encode("NodeSelected", selected()), key=b"17"))
    by_key = decode(CODEC, "nodes.snapshots", 0, 1, TS, NODE.lower().encode(), b"garbage")
    assert keep.matches(by_key)
    nested = TailRecord("t", 0, 0, TS, b"1", b"", "X", {"members": [{"node": NODE}]})
    assert keep.matches(nested)
    in_list = TailRecord("t", 0, 0, TS, b"1", b"", "X", {"agreeing_nodes": [OTHER, NODE]})
    assert keep.matches(in_list)
    assert not keep.matches(message(CODEC.encode("NodeSelected", selected(node=OTHER))))


def test_both_filters_keep_what_both_keep() -> None:
    both = TailFilter(task_id="17", node=NODE.lower())
    assert both.matches(message(CODEC.encode("NodeSelected", selected("17", NODE))))
    assert not both.matches(message(CODEC.encode("NodeSelected", selected("17", OTHER))))
    assert not both.matches(message(CODEC.encode("NodeSelected", selected("18", NODE)), key=b"18"))


def test_no_filter_keeps_everything() -> None:
    assert TailFilter().matches(message(b"garbage"))


def test_kafka_times_are_utc_with_milliseconds() -> None:
    assert timestamp_text(TS) == "2026-03-01T10:00:00.123Z"
    assert timestamp_text(None) == "-"


def test_a_human_line_has_time_place_name_key_and_the_records_own_fields() -> None:
    line = human_line(message(CODEC.encode("NodeSelected", selected())))
    assert line == (
        f"2026-03-01T10:00:00.123Z chain.task-events[4]@42 NodeSelected key=17 "
        f"block_number=100 task_id=17 node={NODE} slot=1"
    )


def test_a_human_line_shortens_long_bytes_but_keeps_addresses() -> None:
    rec = TailRecord("t", 0, 1, TS, b"5", b"", "R", {"commitment": b"\xaa" * 32, "node": NODE})
    line = human_line(rec)
    assert "commitment=0xaaaaaaaa…aaaa(32B)" in line
    assert f"node={NODE}" in line


def test_a_human_line_of_an_undecodable_message_says_why_and_how_big() -> None:
    line = human_line(message(b"garbage"))
    assert line.startswith("2026-03-01T10:00:00.123Z chain.task-events[4]@42 (undecodable: ")
    assert "not an Avro single-object message" in line
    assert line.endswith("key=17 7 bytes")


def test_a_json_line_is_one_object_with_the_whole_record() -> None:
    line = json_line(message(CODEC.encode("NodeSelected", selected())))
    assert "\n" not in line
    doc = json.loads(line)
    assert {k: doc[k] for k in ("topic", "partition", "offset", "key", "record_name", "error")} == {
        "topic": "chain.task-events",
        "partition": 4,
        "offset": 42,
        "key": "17",
        "record_name": "NodeSelected",
        "error": None,
    }
    assert (doc["timestamp"], doc["timestamp_ms"]) == ("2026-03-01T10:00:00.123Z", TS)
    assert doc["record"]["tx_hash"] == "0x" + "ab" * 32
    assert doc["record"]["block_time"] == "2026-03-01T10:00:00.123000+00:00"
    assert "value" not in doc


def test_a_json_line_of_an_undecodable_message_carries_its_bytes_as_hex() -> None:
    doc = json_document(message(b"\x00\xff", key=b"\xfe"))
    assert doc["record"] is None
    assert doc["value"] == "0x00ff"
    assert doc["key"] == "0xfe"  # a key that is not UTF-8
    assert "not an Avro single-object message" in doc["error"]


def test_random_bytes_behind_a_known_header_never_raise() -> None:
    rng = random.Random(7)
    fingerprints = [CODEC.registry.current(name).fingerprint for name in CODEC.registry.names]
    for _ in range(3000):
        body = rng.randbytes(rng.randrange(0, 40))
        rec = message(MAGIC + rng.choice(fingerprints) + body)
        assert rec.record is not None or rec.error, rec
