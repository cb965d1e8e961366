"""What `hydrogen events tail` shows of one Kafka message: decoding, filters, lines.

A message that does not decode (not Avro single-object encoding, an unknown writer schema, a
tombstone) is still a record here, with the reason in `error`: the tail shows it and goes on.

Filters. `--task ID` keeps a message keyed by that task id, or whose record has that
`task_id`. `--node ADDRESS` keeps a message keyed by that address, or whose record holds it in
any field, nested ones included (`node`, `nodes`, `agreeing_nodes`, a snapshot's members…),
compared without regard to case. An undecodable message can only match by its key. Both
filters together keep what both keep.

Pure: no Kafka, no clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from hydrogen.analytics.errors import BadValue
from schemas.codec import Codec
from schemas.errors import DecodeError
from streams.projection import as_json

# Fields of chain records that say where the event sits; the human line leaves them out
# (the JSON line keeps everything).
_WHERE_FIELDS = frozenset(
    {"event_id", "contract", "block_hash", "block_time", "tx_hash", "log_index", "chain_id"}
)
_BYTES_SHOWN = 12  # bytes longer than this are shortened in the human line
_TEXT_SHOWN = 120
_TASK_ID = re.compile(r"^[0-9]+$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class TailRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None  # the message's Kafka timestamp
    key: bytes | None
    value: bytes | None
    record_name: str | None = None
    record: Mapping[str, Any] | None = None
    error: str | None = None  # why the value did not decode

    @property
    def key_text(self) -> str | None:
        if self.key is None:
            return None
        try:
            return self.key.decode()
        except UnicodeDecodeError:
            return "0x" + self.key.hex()


def decode(
    codec: Codec,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int | None,
    key: bytes | None,
    value: bytes | None,
) -> TailRecord:
    """The message as the tail shows it; never raises for a bad value."""
    base = TailRecord(topic, partition, offset, timestamp_ms, key, value)
    if value is None:
        return replace(base, error="a message with no value (tombstone)")
    try:
        name, record = codec.decode(value)
    except DecodeError as exc:
        return replace(base, error=str(exc))
    except Exception as exc:  # fastavro on random bytes raises OverflowError, among others
        # The codec wraps the errors a damaged body usually gives; whatever else the reader
        # raises on bytes that only look like a record, the tail shows it and goes on.
        return replace(base, error=f"{type(exc).__name__} while decoding: {exc}")
    return replace(base, record_name=name, record=record)


def task_id_filter(text: str) -> str:
    """A task id as keys and records spell it (decimal, no leading zeros)."""
    value = text.strip()
    if not _TASK_ID.match(value):
        raise BadValue(text, "not a task id (a whole number such as 17)")
    return str(int(value))


def node_filter(text: str) -> str:
    """A node address, lower-cased for comparing."""
    value = text.strip()
    if not _ADDRESS.match(value):
        raise BadValue(text, "not an address (0x and 40 hex digits)")
    return value.lower()


@dataclass(frozen=True)
class TailFilter:
    task_id: str | None = None  # as task_id_filter returns it
    node: str | None = None  # as node_filter returns it (lower case)

    def matches(self, rec: TailRecord) -> bool:
        return (self.task_id is None or _is_task(rec, self.task_id)) and (
            self.node is None or _mentions_node(rec, self.node)
        )


def _is_task(rec: TailRecord, task_id: str) -> bool:
    if rec.key_text == task_id:
        return True
    return rec.record is not None and str(rec.record.get("task_id")) == task_id


def _mentions_node(rec: TailRecord, node: str) -> bool:
    key = rec.key_text
    if key is not None and key.lower() == node:
        return True
    return rec.record is not None and _holds(rec.record, node)


def _holds(value: Any, node: str) -> bool:
    if isinstance(value, str):
        return value.lower() == node
    if isinstance(value, Mapping):
        return any(_holds(v, node) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds(v, node) for v in value)
    return False


def timestamp_text(ms: int | None) -> str:
    if ms is None:
        return "-"
    at = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def human_line(rec: TailRecord) -> str:
    """One line: time, topic[partition]@offset, record name, key, the record's own fields."""
    where = f"{rec.topic}[{rec.partition}]@{rec.offset}"
    key = f"key={rec.key_text if rec.key is not None else '-'}"
    if rec.record is None:
        size = 0 if rec.value is None else len(rec.value)
        why = f"(undecodable: {rec.error})"
        return f"{timestamp_text(rec.timestamp_ms)} {where} {why} {key} {size} bytes"
    fields = " ".join(
        f"{name}={_short(value)}" for name, value in rec.record.items() if name not in _WHERE_FIELDS
    )
    return f"{timestamp_text(rec.timestamp_ms)} {where} {rec.record_name} {key} {fields}".rstrip()


def _short(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if len(data) > _BYTES_SHOWN:
            return f"0x{data[:4].hex()}…{data[-2:].hex()}({len(data)}B)"
        return "0x" + data.hex()
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}={_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_short(v) for v in value) + "]"
    if isinstance(value, datetime):
        return timestamp_text(int(value.timestamp() * 1000))
    if value is None:
        return "-"
    text = str(value)
    return text if len(text) <= _TEXT_SHOWN else text[: _TEXT_SHOWN - 1] + "…"


def json_document(rec: TailRecord) -> dict[str, Any]:
    """The message as one JSON object: bytes as 0x-hex; `value` (the raw bytes) only when the
    record did not decode."""
    doc: dict[str, Any] = {
        "topic": rec.topic,
        "partition": rec.partition,
        "offset": rec.offset,
        "timestamp": None if rec.timestamp_ms is None else timestamp_text(rec.timestamp_ms),
        "timestamp_ms": rec.timestamp_ms,
        "key": rec.key_text,
        "record_name": rec.record_name,
        "record": None if rec.record is None else as_json(rec.record),
        "error": rec.error,
    }
    if rec.record is None:
        doc["value"] = None if rec.value is None else "0x" + rec.value.hex()
    return doc


def json_line(rec: TailRecord) -> str:
    return json.dumps(json_document(rec), separators=(",", ":"))
