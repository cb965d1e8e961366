from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from schemas.codec import HEADER_LEN, MAGIC, Codec, encode_with
from schemas.errors import DecodeError, EncodeError, SchemaError, UnknownSchemaError
from schemas.registry import SchemaRegistry, unreadable_versions

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def outcome(**overrides: object) -> dict:
    return {
        "request_id": "saga:1:commit",
        "signer": "0xabc",
        "status": "MINED",
        "observed_at": NOW,
        **overrides,
    }


def test_a_record_round_trips_with_defaults_filled_in(codec: Codec) -> None:
    name, back = codec.decode(codec.encode("TxOutcome", outcome(tx_hash="0x01", nonce=7)))
    assert name == "TxOutcome"
    assert back == {
        **outcome(tx_hash="0x01", nonce=7),
        "block_number": None,
        "gas_used": None,
        "error_name": None,
        "error_args_json": None,
        "reason": "",
    }


def test_the_wire_format_is_avro_single_object_encoding(codec: Codec) -> None:
    data = codec.encode("TxOutcome", outcome())
    assert data[:2] == MAGIC == b"\xc3\x01"
    assert data[2:HEADER_LEN] == codec.registry.current("TxOutcome").fingerprint


def test_a_record_that_does_not_fit_names_the_field_and_value(codec: Codec) -> None:
    with pytest.raises(EncodeError, match=r"TxOutcome\.status is <LOST>"):
        codec.encode("TxOutcome", outcome(status="LOST"))


def test_bytes_without_the_magic_are_refused_with_what_they_start_with(codec: Codec) -> None:
    with pytest.raises(DecodeError, match="starts with 7b22"):
        codec.decode(b'{"json": "perhaps"}')


def test_an_unknown_writer_fingerprint_is_named(codec: Codec) -> None:
    with pytest.raises(UnknownSchemaError, match="0011223344556677"):
        codec.decode(MAGIC + bytes.fromhex("0011223344556677") + b"\x00")


def test_a_truncated_body_is_a_decode_error(codec: Codec) -> None:
    data = codec.encode("TxOutcome", outcome(reason="a long reason " * 4))
    with pytest.raises(DecodeError, match=r"TxOutcome\.v1 body is not readable"):
        codec.decode(data[:-10])


def test_a_body_with_a_timestamp_no_datetime_holds_is_a_decode_error(codec: Codec) -> None:
    header = MAGIC + codec.registry.current("StreamTick").fingerprint
    body = bytes.fromhex("a7bcb6ffd08e455b9cbd3b648f662c7bca42dd9c")  # found by fuzzing
    with pytest.raises(DecodeError, match=r"StreamTick\.v1 body is not readable"):
        codec.decode(header + body)


def test_a_message_of_another_type_is_refused_when_one_is_expected(codec: Codec) -> None:
    with pytest.raises(DecodeError, match=r"expected a TxRequest record, got TxOutcome\.v1"):
        codec.decode(codec.encode("TxOutcome", outcome()), expect="TxRequest")


def test_an_unknown_schema_name_lists_the_known_ones(codec: Codec) -> None:
    with pytest.raises(SchemaError, match=r"no schema named .TxRequst.; known: .*TxRequest"):
        codec.encode("TxRequst", {})


def test_every_version_in_the_repository_decodes_with_the_current_reader() -> None:
    assert unreadable_versions(SchemaRegistry()) == []


def _schema(fields: list[dict]) -> dict:
    return {"type": "record", "name": "Thing", "namespace": "t", "fields": fields}


def _write(folder: Path, version: int, fields: list[dict]) -> None:
    (folder / f"Thing.v{version}.avsc").write_text(json.dumps(_schema(fields)))


def test_a_field_added_with_a_default_reads_old_messages(tmp_path: Path) -> None:
    _write(tmp_path, 1, [{"name": "a", "type": "long"}])
    _write(
        tmp_path,
        2,
        [{"name": "a", "type": "long"}, {"name": "b", "type": "string", "default": "x"}],
    )
    registry = SchemaRegistry(tmp_path)
    old = encode_with(registry.versions("Thing")[0], {"a": 5})
    assert Codec(registry).decode(old) == ("Thing", {"a": 5, "b": "x"})
    assert unreadable_versions(registry) == []


def test_a_field_added_without_a_default_is_caught(tmp_path: Path) -> None:
    _write(tmp_path, 1, [{"name": "a", "type": "long"}])
    _write(tmp_path, 2, [{"name": "a", "type": "long"}, {"name": "b", "type": "string"}])
    problems = unreadable_versions(SchemaRegistry(tmp_path))
    assert len(problems) == 1
    assert problems[0].startswith("Thing.v1:")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"thing.v1.avsc": _schema([])}, "is not named <Name>.v<N>.avsc"),
        ({"Thing.v2.avsc": _schema([])}, re.escape("without gaps; found [2]")),
        ({"Other.v1.avsc": _schema([])}, "must define one record named 'Other'"),
        ({"Thing.v1.avsc": _schema([]), "Thing.v2.avsc": _schema([])}, "identical to Thing.v1"),
    ],
)
def test_malformed_schema_folders_are_refused_by_name(
    tmp_path: Path, files: dict, message: str
) -> None:
    for name, schema in files.items():
        (tmp_path / name).write_text(json.dumps(schema))
    with pytest.raises(SchemaError, match=message):
        SchemaRegistry(tmp_path)
