"""A task's status changes (`tasks.history`) as Server-Sent Events, resumable.

Each event's SSE id is its Kafka offset in the task's partition (the key is the task id, so
one partition holds all of a task's history, in order). A client that reconnects with
`Last-Event-ID: <offset>` gets what came after it. A first connection starts at the Kafka
timestamp of the task's creation (less a margin), not at the partition's beginning, so it
reads only the task's own stretch of the topic. The stream ends after the task's terminal
status; a comment line every `heartbeat_s` keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import anyio.to_thread
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaException, TopicPartition

from relay_api.errors import BadRequest, Unavailable
from relay_api.partitioning import partition_of
from relay_api.task_facts import ENDED
from schemas.catalog import TASKS_HISTORY
from schemas.codec import Codec
from schemas.errors import DecodeError

START_MARGIN_MS = 5 * 60 * 1000  # Kafka timestamps trail block times; start a bit before
POLL_S = 0.5


def parse_last_event_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 19:
        raise BadRequest(
            f"Last-Event-ID must be an event id (a Kafka offset) from this stream, got {value[:40]!r}"
        )
    return int(value)


def sse_event(event_id: int, event: str, data: dict[str, Any]) -> bytes:
    body = json.dumps(data, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event}\ndata: {body}\n\n".encode()


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}


class HistoryStream:
    def __init__(
        self,
        bootstrap: str,
        codec: Codec,
        heartbeat_s: float = 15.0,
        topic: str = TASKS_HISTORY.name,
    ) -> None:
        self.bootstrap = bootstrap
        self.codec = codec
        self.heartbeat_s = heartbeat_s
        self.topic = topic

    def _consumer(self) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"relay-sse-{uuid.uuid4().hex}",  # never joins: assign() only
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )

    async def events(
        self,
        task_id: str,
        after_offset: int | None,
        created_ms: int | None,
        disconnected: Callable[[], Awaitable[bool]],
    ) -> AsyncIterator[bytes]:
        partition = partition_of(task_id.encode(), TASKS_HISTORY.partitions)
        consumer = await anyio.to_thread.run_sync(self._consumer)
        try:
            start = await anyio.to_thread.run_sync(
                self._start_offset, consumer, partition, after_offset, created_ms
            )
            consumer.assign([TopicPartition(self.topic, partition, start)])
            yield b"retry: 2000\n\n"
            seen: set[str] = set()
            last_beat = time.monotonic()
            key = task_id.encode()
            while not await disconnected():
                try:
                    messages = await anyio.to_thread.run_sync(consumer.consume, 200, POLL_S)
                except KafkaException as exc:
                    raise Unavailable(f"reading {self.topic}: {exc}") from exc
                for m in messages:
                    value, offset = m.value(), m.offset()
                    if m.error() is not None or m.key() != key or value is None or offset is None:
                        continue
                    try:
                        _, record = self.codec.decode(value, expect="TaskStatusChanged")
                    except DecodeError:
                        continue  # the streams app sends what it cannot use to its dlq
                    if record["event_id"] in seen:
                        continue  # a redelivered change
                    seen.add(record["event_id"])
                    yield sse_event(offset, "status", _jsonable(record))
                    if record["to_status"] in ENDED:
                        return
                if time.monotonic() - last_beat > self.heartbeat_s:
                    last_beat = time.monotonic()
                    yield b": keep-alive\n\n"
        finally:
            await anyio.to_thread.run_sync(consumer.close)

    def _start_offset(
        self, consumer: Consumer, partition: int, after_offset: int | None, created_ms: int | None
    ) -> int:
        if after_offset is not None:
            return after_offset + 1
        if created_ms is None:
            return OFFSET_BEGINNING
        try:
            (found,) = consumer.offsets_for_times(
                [TopicPartition(self.topic, partition, max(0, created_ms - START_MARGIN_MS))],
                timeout=10,
            )
        except KafkaException as exc:
            raise Unavailable(f"looking up {self.topic} offsets: {exc}") from exc
        return found.offset if found.offset >= 0 else OFFSET_END
