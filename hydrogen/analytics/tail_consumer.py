"""One catalog topic read from Kafka for `hydrogen events tail`.

A plain consumer that `assign()`s partitions (no group to join, nothing committed, so any
number of tails run beside the services without moving anyone's position). It reads committed
messages only, as every consumer of ours does: the chain ingest writes in transactions, and an
aborted batch must not show up as history.

With a key to look for on a topic keyed that way, only the partition that holds the key is
read: our producers place keys with Kafka's murmur2 partitioner (`schemas.catalog.PARTITIONER`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaException,
    TopicPartition,
)

from hydrogen.analytics.errors import SourceError
from relay_api.partitioning import partition_of

log = logging.getLogger(__name__)

METADATA_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Start:
    """Where the tail begins on one partition (an offset, or -2 for the beginning)."""

    partition: int
    offset: int


class TopicTail:
    def __init__(self, consumer: Consumer, bootstrap: str, topic: str) -> None:
        self.consumer = consumer
        self.bootstrap = bootstrap
        self.topic = topic

    def start(self, from_beginning: bool, key: bytes | None = None) -> list[Start]:
        """Assign the topic's partitions (only the one holding `key`, if given) at their
        beginning, or at their end as it is now; the starts, in partition order."""
        try:
            # Every topic, not just ours: asking for one by name could create it on a broker
            # that auto-creates topics, with a partition count the catalog never chose.
            metadata = self.consumer.list_topics(timeout=METADATA_TIMEOUT_S)
            found = metadata.topics.get(self.topic)
            if found is None or found.error is not None or not found.partitions:
                raise SourceError(
                    f"topic {self.topic!r} does not exist on Kafka at {self.bootstrap}; "
                    "create the catalog's topics with `hydrogen topics create`"
                )
            partitions = sorted(found.partitions)
            if key is not None:
                partitions = [partition_of(key, len(partitions))]
            starts = [
                Start(p, OFFSET_BEGINNING if from_beginning else self._end(p)) for p in partitions
            ]
            self.consumer.assign(
                [TopicPartition(self.topic, s.partition, s.offset) for s in starts]
            )
        except KafkaException as exc:
            raise SourceError(f"Kafka at {self.bootstrap} did not answer: {exc}") from exc
        return starts

    def _end(self, partition: int) -> int:
        _, high = self.consumer.get_watermark_offsets(
            TopicPartition(self.topic, partition), timeout=METADATA_TIMEOUT_S
        )
        return int(high)

    def poll(self, timeout_s: float, max_messages: int = 500) -> list[RawMessage]:
        """The messages that arrive within `timeout_s` (none when there are none)."""
        out = []
        for m in self.consumer.consume(max_messages, timeout_s):
            error = m.error()
            if error is not None:
                if error.fatal():
                    raise SourceError(f"Kafka at {self.bootstrap}: {error.str()}")
                log.warning("topic=%s partition=%s: %s", m.topic(), m.partition(), error.str())
                continue
            kind, ms = m.timestamp()
            out.append(
                RawMessage(
                    topic=str(m.topic()),
                    partition=int(m.partition() or 0),
                    offset=int(m.offset() or 0),
                    timestamp_ms=None if kind == TIMESTAMP_NOT_AVAILABLE else int(ms),
                    key=_bytes(m.key()),
                    value=_bytes(m.value()),
                )
            )
        return out

    def close(self) -> None:
        self.consumer.close()


def _bytes(data: Any) -> bytes | None:
    return None if data is None else bytes(data)


def open_tail(bootstrap: str, topic: str) -> TopicTail:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            # Required by the client; never joined (assign() only) and never committed.
            "group.id": f"hydrogen-tail-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            # A broker that is down is reported once, by the first metadata request, rather
            # than logged by librdkafka every second.
            "log_level": 0,
        }
    )
    return TopicTail(consumer, bootstrap, topic)
