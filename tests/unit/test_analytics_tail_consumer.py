"""Where `hydrogen events tail` starts on each partition, against a stand-in consumer (the
real broker is in tests/integration/test_analytics.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from hydrogen.analytics.errors import SourceError
from hydrogen.analytics.tail_consumer import Start, TopicTail
from relay_api.partitioning import partition_of


@dataclass
class _Topic:
    partitions: dict[int, object]
    error: object = None


@dataclass
class _Metadata:
    topics: dict[str, _Topic]


@dataclass
class FakeConsumer:
    """Metadata and watermarks of a broker holding `topics` (name -> high watermark per
    partition); records what was assigned."""

    topics: dict[str, list[int]]
    assigned: list[tuple[str, int, int]] = field(default_factory=list)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> _Metadata:
        assert topic is None  # never by name: that could create it
        return _Metadata({n: _Topic(dict.fromkeys(range(len(h)))) for n, h in self.topics.items()})

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float = -1) -> tuple[int, int]:
        return 0, self.topics[tp.topic][tp.partition]

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = [(tp.topic, tp.partition, tp.offset) for tp in partitions]


def tail_of(consumer: FakeConsumer, topic: str = "tasks.history") -> TopicTail:
    return TopicTail(consumer, "127.0.0.1:9092", topic)  # type: ignore[arg-type]


def test_from_the_end_starts_at_each_partitions_high_watermark() -> None:
    consumer = FakeConsumer({"tasks.history": [5, 0, 12]})
    starts = tail_of(consumer).start(from_beginning=False)
    assert starts == [Start(0, 5), Start(1, 0), Start(2, 12)]
    assert consumer.assigned == [
        ("tasks.history", 0, 5),
        ("tasks.history", 1, 0),
        ("tasks.history", 2, 12),
    ]


def test_from_the_beginning_starts_at_the_oldest_record() -> None:
    consumer = FakeConsumer({"tasks.history": [5, 7]})
    tail_of(consumer).start(from_beginning=True)
    assert [offset for _, _, offset in consumer.assigned] == [OFFSET_BEGINNING] * 2


def test_a_key_reads_only_the_partition_that_holds_it() -> None:
    consumer = FakeConsumer({"tasks.history": [1] * 6})
    starts = tail_of(consumer).start(from_beginning=True, key=b"17")
    assert [s.partition for s in starts] == [partition_of(b"17", 6)]


def test_a_topic_missing_on_the_broker_is_named_with_how_to_create_it() -> None:
    with pytest.raises(SourceError) as caught:
        tail_of(FakeConsumer({"chain.task-events": [0]})).start(from_beginning=True)
    assert "topic 'tasks.history' does not exist on Kafka at 127.0.0.1:9092" in str(caught.value)
    assert "hydrogen topics create" in str(caught.value)
