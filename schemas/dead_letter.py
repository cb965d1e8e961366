"""The dead-letter record: what every consumer writes to `<topic>.dlq` about a message it
could not use. One builder, so that every DLQ reads the same (schemas/avro/DeadLetter)."""

from __future__ import annotations

from typing import Any


def dead_letter_record(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    consumer: str,
    error_type: str,
    reason: str,
    now_ms: int,
) -> dict[str, Any]:
    """The `DeadLetter` record of the message at `topic`/`partition`/`offset`, kept whole."""
    return {
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "value": value,
        "consumer": consumer,
        "error_type": error_type,
        "reason": reason,
        "failed_at": now_ms,
    }
