"""The node commands' side of the submitter's topics: publish one TxRequest on
`chain.tx-requests`, then find its TxOutcome on `chain.tx-outcomes`.

Outcomes are keyed by request id; this reader takes every partition (without a consumer
group: nothing to commit, no rebalance to wait for) and keeps the one whose key is ours. It
is placed at the partitions' ends before the request is published, so the answer, which comes
after the request, cannot be missed; a repeated request id is looked for from the beginning,
since its answer may be there already. `read_committed`: the submitter publishes outcomes
in Kafka transactions.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from hydrogen.node_ops.errors import KafkaIoError
from hydrogen.node_ops.outcome import Outcome
from schemas.catalog import PARTITIONER
from schemas.codec import Codec
from schemas.errors import DecodeError

log = logging.getLogger(__name__)

KAFKA_TIMEOUT_S = 15.0
_POLL_S = 0.25


def _client_logging() -> dict[str, Any]:
    """librdkafka logs every failed connection attempt, many a second; the failure itself
    reaches the operator as our error, so its log lines show only with -v."""
    return {"logger": log, "log_level": 3 if log.isEnabledFor(logging.INFO) else 2}


class TxChannel:
    def __init__(
        self,
        bootstrap: str,
        requests_topic: str,
        outcomes_topic: str,
        kafka_timeout_s: float = KAFKA_TIMEOUT_S,
    ) -> None:
        self._bootstrap = bootstrap
        self._requests_topic = requests_topic
        self._outcomes_topic = outcomes_topic
        self._timeout = kafka_timeout_s
        self._codec = Codec()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                # Required by the client even with assign(); nothing is ever committed.
                "group.id": f"hydrogen.node-cli.{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                **_client_logging(),
            }
        )
        self._partitions: list[int] = []

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> TxChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, from_beginning: bool) -> None:
        """Start reading outcomes: at their current ends, or from the beginning."""
        try:
            topics = self._consumer.list_topics(timeout=self._timeout).topics
        except KafkaException as exc:
            raise KafkaIoError(f"Kafka at {self._bootstrap} does not answer: {exc}") from exc
        for name in (self._requests_topic, self._outcomes_topic):
            if name not in topics or topics[name].error is not None:
                raise KafkaIoError(
                    f"topic {name!r} does not exist on {self._bootstrap}; create the catalog's "
                    "topics (`hydrogen topics create`)"
                )
        self._partitions = sorted(topics[self._outcomes_topic].partitions)
        starts = []
        for p in self._partitions:
            tp = TopicPartition(self._outcomes_topic, p)
            if from_beginning:
                tp.offset = OFFSET_BEGINNING
            else:
                try:
                    tp.offset = self._consumer.get_watermark_offsets(tp, timeout=self._timeout)[1]
                except KafkaException as exc:
                    raise KafkaIoError(f"the end of {self._outcomes_topic}[{p}]: {exc}") from exc
            starts.append(tp)
        self._consumer.assign(starts)

    def answered(self, request_id: str) -> Outcome | None:
        """The outcome of `request_id` among those published so far, read up to the ends the
        topic has now."""
        ends = {}
        for p in self._partitions:
            tp = TopicPartition(self._outcomes_topic, p)
            ends[p] = self._consumer.get_watermark_offsets(tp, timeout=self._timeout)[1]
        pending = [TopicPartition(self._outcomes_topic, p) for p, end in ends.items() if end > 0]
        deadline = time.monotonic() + 4 * self._timeout
        while pending and any(tp.offset < ends[tp.partition] for tp in self._positions(pending)):
            if time.monotonic() > deadline:
                raise KafkaIoError(f"{self._outcomes_topic} could not be read to its end")
            for msg in self._consumer.consume(500, _POLL_S):
                found = self._outcome_in(msg, request_id)
                if found is not None:
                    return found
        return None

    def publish(self, record: dict[str, Any]) -> tuple[int, int]:
        """Publish a TxRequest keyed by its signer; its (partition, offset) once acknowledged."""
        producer = Producer(
            {
                "bootstrap.servers": self._bootstrap,
                "partitioner": PARTITIONER,
                "enable.idempotence": True,
                "message.timeout.ms": int(self._timeout * 1000),
                **_client_logging(),
            }
        )
        delivered: list[Message] = []
        failed: list[KafkaError] = []

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                failed.append(err)
            else:
                delivered.append(msg)

        producer.produce(
            self._requests_topic,
            key=record["signer"].encode(),
            value=self._codec.encode("TxRequest", record),
            on_delivery=on_delivery,
        )
        producer.flush(self._timeout + 5)
        if failed or not delivered:
            why = failed[0].str() if failed else "no acknowledgement"
            raise KafkaIoError(
                f"request {record['request_id']} was not published to {self._requests_topic} "
                f"on {self._bootstrap}: {why}"
            )
        msg = delivered[0]
        return msg.partition() or 0, msg.offset() or 0

    def wait(
        self,
        request_id: str,
        deadline: float,
        on_wait: Callable[[], None] = lambda: None,
        tick_s: float = 5.0,
    ) -> Outcome | None:
        """The outcome of `request_id`, or None once `deadline` (time.monotonic) passes;
        `on_wait` is called every `tick_s` seconds meanwhile."""
        next_tick = time.monotonic() + tick_s
        while (now := time.monotonic()) < deadline:
            if now >= next_tick:
                on_wait()
                next_tick = now + tick_s
            for msg in self._consumer.consume(100, min(_POLL_S, max(deadline - now, 0.01))):
                found = self._outcome_in(msg, request_id)
                if found is not None:
                    return found
        return None

    def _positions(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return list(self._consumer.position(tps))

    def _outcome_in(self, msg: Message, request_id: str) -> Outcome | None:
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return None
            raise KafkaIoError(f"reading {self._outcomes_topic}: {error.str()}")
        if msg.key() != request_id.encode():
            return None
        try:
            _, record = self._codec.decode(msg.value() or b"", expect="TxOutcome")
        except DecodeError:
            return None  # not an outcome; the submitter never writes such a thing here
        return Outcome.from_record(record) if record["request_id"] == request_id else None
