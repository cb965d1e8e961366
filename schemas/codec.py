"""Avro single-object encoding: every message names the schema it was written with.

Wire format (Avro specification, "Single object encoding"):

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | Avro binary

A reader looks the fingerprint up among all versions in the registry and resolves the record
into the current version of that schema, so a message written years ago by an older build
still decodes, with defaults filled in for fields added since.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
from fastavro.validation import validate

from schemas.errors import DecodeError, EncodeError, UnknownSchemaError
from schemas.registry import SchemaRegistry, SchemaVersion

MAGIC = b"\xc3\x01"
HEADER_LEN = len(MAGIC) + 8


class Codec:
    """Encodes with the current version of a schema; decodes from any known version."""

    def __init__(self, registry: SchemaRegistry | None = None) -> None:
        self.registry = registry or SchemaRegistry()

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        schema = self.registry.current(name)
        return encode_with(schema, record)

    def decode(self, data: bytes, expect: str | None = None) -> tuple[str, dict[str, Any]]:
        """Return (schema name, record in the current version of that schema).

        With `expect`, a message of another record type is a DecodeError: a topic that
        carries one type must not silently accept another.
        """
        writer = self.writer_of(data)
        if expect is not None and writer.name != expect:
            raise DecodeError(f"expected a {expect} record, got {writer.name}.v{writer.version}")
        reader = self.registry.current(writer.name)
        try:
            record = fastavro.schemaless_reader(
                io.BytesIO(memoryview(data)[HEADER_LEN:]),
                writer.parsed,
                None if reader is writer else reader.parsed,  # no resolution needed
            )
        except (
            EOFError,
            ValueError,
            IndexError,
            OverflowError,  # a timestamp past what a datetime holds, in a corrupt body
            fastavro.read.SchemaResolutionError,
        ) as exc:
            raise DecodeError(
                f"{writer.name}.v{writer.version} body is not readable ({len(data)} bytes): {exc}"
            ) from exc
        return writer.name, record  # type: ignore[return-value]

    def writer_of(self, data: bytes) -> SchemaVersion:
        if len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise DecodeError(
                f"not an Avro single-object message: starts with {bytes(data[:HEADER_LEN]).hex() or 'nothing'}"
            )
        fp = bytes(data[2:HEADER_LEN])
        writer = self.registry.by_fingerprint(fp)
        if writer is None:
            raise UnknownSchemaError(f"unknown writer schema fingerprint {fp.hex()}")
        return writer


def encode_with(schema: SchemaVersion, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(schema.fingerprint)
    try:
        fastavro.schemaless_writer(out, schema.parsed, record)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # fastavro's own message rarely names the field; validation does, so ask it why.
        raise EncodeError(f"{schema.name}: {_why_invalid(schema, record) or exc}") from exc
    return out.getvalue()


def _why_invalid(schema: SchemaVersion, record: dict[str, Any]) -> str | None:
    try:
        validate(record, schema.parsed, raise_errors=True)
    except fastavro.validation.ValidationError as exc:
        return "; ".join(str(e) for e in exc.errors)
    return None
