"""The devnet's Kafka is a real Apache Kafka broker: groups, transactions, catalog topics."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from hydrogen.topics import TopicMismatchError, describe_topics, ensure_topics
from schemas.catalog import TOPICS, Topic


@pytest.fixture
def admin(kafka_bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def fresh_topic(admin: AdminClient) -> str:
    name = f"test.{uuid.uuid4().hex[:12]}"
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    return name


def _consumer(bootstrap: str, group: str, **extra: object) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            **extra,
        }
    )


def _drain(consumer: Consumer, want: int, timeout_polls: int = 40) -> list[bytes]:
    got: list[bytes] = []
    empty = 0
    while len(got) < want and empty < timeout_polls:
        msg = consumer.poll(0.5)
        if msg is None:
            empty += 1
            continue
        if msg.error():
            raise KafkaException(msg.error())
        got.append(msg.value())
    return got


def test_catalog_topics_exist_with_their_partition_counts_and_cleanup(admin: AdminClient) -> None:
    found = describe_topics(admin, [t.name for t in TOPICS])
    assert {n: (s.partitions, s.cleanup) for n, s in found.items()} == {
        t.name: (t.partitions, str(t.cleanup)) for t in TOPICS
    }


def test_ensure_topics_refuses_a_topic_whose_partition_count_differs(
    admin: AdminClient, fresh_topic: str
) -> None:
    wanted = Topic(fresh_topic, key="k", description="d", partitions=4)
    with pytest.raises(TopicMismatchError, match=rf"{fresh_topic}.*1 partitions.*catalog says 4"):
        ensure_topics(admin, [wanted])


def test_consumer_group_resumes_exactly_after_its_last_commit(
    kafka_bootstrap: str, fresh_topic: str
) -> None:
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(10):
        producer.produce(fresh_topic, value=f"m{i}".encode())
    assert producer.flush(10) == 0
    group = f"g-{uuid.uuid4().hex[:8]}"

    first = _consumer(kafka_bootstrap, group)
    first.subscribe([fresh_topic])
    seen = _drain(first, 4)
    first.commit(asynchronous=False)  # commits the position after the 4th message
    first.close()

    second = _consumer(kafka_bootstrap, group)
    second.subscribe([fresh_topic])
    rest = _drain(second, 6)
    committed = second.committed([TopicPartition(fresh_topic, 0)], timeout=10)[0].offset
    second.close()

    assert seen == [f"m{i}".encode() for i in range(4)]
    assert rest == [f"m{i}".encode() for i in range(4, 10)]
    assert committed == 4


def test_read_committed_consumer_never_sees_aborted_messages(
    kafka_bootstrap: str, fresh_topic: str
) -> None:
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"tx-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(30)
    for batch, commit in ((b"a", True), (b"b", False), (b"c", True)):
        producer.begin_transaction()
        for i in range(3):
            producer.produce(fresh_topic, value=batch + str(i).encode())
        # Flush first: aborting with messages still queued would drop them client-side, and
        # the broker would never hold an aborted record for the reader to skip.
        assert producer.flush(10) == 0
        if commit:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)

    reader = _consumer(
        kafka_bootstrap, f"rc-{uuid.uuid4().hex[:8]}", **{"isolation.level": "read_committed"}
    )
    reader.subscribe([fresh_topic])
    seen = _drain(reader, 6)
    assert _drain(reader, 1, timeout_polls=4) == []  # nothing more arrives
    # The aborted batch was really written: the log holds 9 records plus 3 transaction markers.
    _, high = reader.get_watermark_offsets(TopicPartition(fresh_topic, 0), timeout=10)
    reader.close()

    assert seen == [b"a0", b"a1", b"a2", b"c0", b"c1", b"c2"]
    assert high == 12
