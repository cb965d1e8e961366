"""The two faust fixes of `streams.faust_fixes`, each on its own.

A resume of flow that was already on keeps what the agents' queues hold (faust resumes it a
second time after it has resumed the stream partitions, and used to drop what they had
delivered); a resume that ends a suspension still clears them. A partition that no one has
committed goes back to its beginning when the worker seeks to the committed offsets, as a
fresh consumer of the group would read it, where aiokafka left it wherever it had read to.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from hydrogen.topics import ensure_topics
from schemas.catalog import Topic
from streams.faust_fixes import apply, seek_to_committed_or_beginning


def _queue_with(flow: FlowControlEvent, item: str) -> FlowControlQueue[str]:
    queue: FlowControlQueue[str] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    queue.put_nowait(item)
    return queue


def test_resuming_flow_that_is_on_keeps_the_queues_and_ending_a_suspension_clears_them() -> None:
    apply()
    flow = FlowControlEvent(initially_suspended=False)
    delivered = _queue_with(flow, "delivered while flow was on")
    flow.resume()
    assert delivered.qsize() == 1

    flow.suspend()
    stale = _queue_with(flow, "queued before the rebalance")
    flow.resume()
    assert stale.qsize() == 0 and delivered.qsize() == 0
    assert flow.is_active()


def _fresh_topic(bootstrap: str, partitions: int) -> str:
    name = f"test.faust-fixes.{uuid.uuid4().hex[:8]}"
    topic = Topic(name, key="any", description="faust fixes test", partitions=partitions)
    ensure_topics(AdminClient({"bootstrap.servers": bootstrap}), [topic])
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition in range(partitions):
        for i in range(3):
            producer.produce(name, value=f"m{i}".encode(), partition=partition)
    assert producer.flush(10) == 0
    return name


async def _positions_after_seek(
    bootstrap: str, topic: str, committable: bool
) -> dict[int, int | None]:
    never, committed, at_zero = (TopicPartition(topic, p) for p in range(3))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"faust-fixes-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([never, committed, at_zero])
        await consumer.commit(
            {committed: OffsetAndMetadata(2, ""), at_zero: OffsetAndMetadata(0, "")}
        )
        for tp in (never, committed, at_zero):
            consumer.seek(tp, 3)  # read to the end, as a worker does before a rebalance
        offsets = await seek_to_committed_or_beginning(consumer, lambda _: committable)
        assert offsets == {never: None, committed: 2, at_zero: 0}
        return {tp.partition: await consumer.position(tp) for tp in (never, committed, at_zero)}
    finally:
        await consumer.stop()


def test_a_partition_never_committed_goes_back_to_its_beginning(kafka_bootstrap: str) -> None:
    topic = _fresh_topic(kafka_bootstrap, partitions=3)
    positions = asyncio.run(_positions_after_seek(kafka_bootstrap, topic, committable=True))
    assert positions == {0: 0, 1: 2, 2: 0}


def test_a_topic_without_acks_keeps_its_position(kafka_bootstrap: str) -> None:
    topic = _fresh_topic(kafka_bootstrap, partitions=3)
    positions = asyncio.run(_positions_after_seek(kafka_bootstrap, topic, committable=False))
    assert positions == {0: 3, 1: 2, 2: 3}  # what aiokafka alone does: only 2 is rewound
