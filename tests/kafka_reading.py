"""Reading topics to their current end in tests, as a read_committed consumer sees them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


@dataclass(frozen=True)
class Read:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def committed_messages(bootstrap: str, topics: tuple[str, ...], timeout: float = 60) -> list[Read]:
    """Every committed message of `topics`, in offset order per partition, up to each
    partition's end as it is when the call starts."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-reader-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    out: list[Read] = []
    try:
        metadata = consumer.list_topics(timeout=10)
        parts = [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t in topics
            for p in sorted(metadata.topics[t].partitions)
        ]
        ends = {
            (tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1]
            for tp in parts
        }
        # An empty partition has no position to compare; one whose tail is transaction
        # markers only returns no message, so the positions (past the markers) decide.
        pending = [TopicPartition(t, p) for (t, p), end in ends.items() if end > 0]
        consumer.assign([tp for tp in parts if ends[(tp.topic, tp.partition)] > 0])
        deadline = time.monotonic() + timeout
        while pending and any(
            tp.offset < ends[(tp.topic, tp.partition)] for tp in consumer.position(pending)
        ):
            assert time.monotonic() < deadline, f"{topics} were never read to their end"
            for m in consumer.consume(500, 0.5):
                if m.error() is None:
                    out.append(Read(m.topic(), m.partition(), m.offset(), m.key(), m.value()))
        return out
    finally:
        consumer.close()
