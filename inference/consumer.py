"""The GPU consumer: `inference.jobs` in, `inference.results` out, one job at a time.

For each job, in partition order:
1. Decode it; an undecodable record goes to `inference.jobs.dlq` with the reason. A job for a
   node whose key this process lacks is routed by `route_job`: dead-lettered in a group that
   must hold every node's key, committed past in an operator's own group (`only_own_nodes`),
   where other operators' consumers, in their own groups, answer it.
2. Skip it if this process already answered it or is running it (the streams worker sends a
   job again after a crash), or if its deadline has passed (logged: a late result is useless).
3. Pause every assigned partition and run the job on a worker thread, while this thread keeps
   polling: a job may take minutes, and a consumer that stops polling for longer than
   `max.poll.interval.ms` is dropped from the group and its partitions handed to another.
   A message that still arrives (a partition assigned during the job) is put back with `seek`.
4. Publish the outcome on `inference.results` (keyed by task id) and wait for the broker's ack.
5. Only then commit the job's offset, and resume. A crash between 4 and 5 runs the job again
   and publishes a second identical result, which the saga drops as a redelivery.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from inference.job import Job, Outcome
from inference.job_runner import JobRunner
from schemas.catalog import INFERENCE_JOBS, INFERENCE_RESULTS, PARTITIONER
from schemas.codec import Codec
from schemas.dead_letter import dead_letter_record
from schemas.errors import DecodeError

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ConsumerConfig:
    bootstrap: str
    group_id: str = "hydrogen.inference"
    jobs_topic: str = INFERENCE_JOBS.name
    results_topic: str = INFERENCE_RESULTS.name
    dlq_topic: str = INFERENCE_JOBS.dlq.name
    poll_s: float = 0.2
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    remembered_jobs: int = 10_000  # job ids kept to drop redeliveries
    only_own_nodes: bool = False  # skip, rather than dead-letter, jobs of nodes we do not hold


class JobRoute(Enum):
    RUN = "run"
    SKIP = "skip"
    DEAD_LETTER = "dead-letter"


def route_job(node: str, held: frozenset[str], only_own_nodes: bool) -> JobRoute:
    """What a consumer holding the keys `held` (lower-case addresses) does with a job for `node`.

    In the shared group (every member holds every node's key) a job for a node nobody holds
    is a misconfiguration to dead-letter. In an operator's own group every operator's
    consumers read every job, so another operator's job is theirs to answer, not an error.
    """
    if node.lower() in held:
        return JobRoute.RUN
    return JobRoute.SKIP if only_own_nodes else JobRoute.DEAD_LETTER


class InferenceConsumer:
    def __init__(
        self,
        config: ConsumerConfig,
        runner: JobRunner,
        nodes: frozenset[str],
        codec: Codec | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._runner = runner
        self._nodes = frozenset(n.lower() for n in nodes)
        self._codec = codec or Codec()
        self._clock = clock
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference-job")
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None

    def run(self, stop: threading.Event) -> None:
        c = self._config
        self._producer = Producer(
            {
                "bootstrap.servers": c.bootstrap,
                "partitioner": PARTITIONER,
                "enable.idempotence": True,
                "linger.ms": 0,
            }
        )
        self._consumer = Consumer(
            {
                "bootstrap.servers": c.bootstrap,
                "group.id": c.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": c.session_timeout_ms,
                "heartbeat.interval.ms": c.heartbeat_interval_ms,
                "max.poll.interval.ms": c.max_poll_interval_ms,
            }
        )
        try:
            self._consumer.subscribe([c.jobs_topic])
            log.info("inference consumer up group=%s topic=%s nodes=%d only_own_nodes=%s", c.group_id, c.jobs_topic, len(self._nodes), c.only_own_nodes)  # fmt: skip
            while not stop.is_set():
                msg = self._consumer.poll(c.poll_s)
                if msg is not None:
                    self._on_message(msg, stop)
        finally:
            self._consumer.close()
            self._producer.flush(FLUSH_TIMEOUT_S)
            self._executor.shutdown(wait=False, cancel_futures=True)
            log.info("inference consumer stopped group=%s", c.group_id)

    # ---- one message ----

    def _on_message(self, msg: Message, stop: threading.Event) -> None:
        error = msg.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error topic=%s: %s", msg.topic(), error)
            return
        where = f"topic={msg.topic()} partition={msg.partition()} offset={msg.offset()}"
        try:
            _, record = self._codec.decode(msg.value() or b"", expect="InferenceJob")
            job = Job.from_record(record)
        except (DecodeError, KeyError, ValueError) as exc:
            self._dead_letter(msg, type(exc).__name__, str(exc))
            self._commit(msg)
            return
        route = route_job(job.node, self._nodes, self._config.only_own_nodes)
        if route is JobRoute.SKIP:
            log.debug("job of another operator's node skipped job_id=%s node=%s %s", job.job_id, job.node, where)  # fmt: skip
            self._commit(msg)
            return
        if route is JobRoute.DEAD_LETTER:
            self._dead_letter(msg, "UnknownNode", f"no key for node {job.node} in this consumer")
            self._commit(msg)
            return
        if job.job_id in self._answered:
            log.info("duplicate job skipped job_id=%s %s", job.job_id, where)
            self._commit(msg)
            return
        now_ms = int(self._clock() * 1000)
        if now_ms >= job.deadline_ms:
            log.warning(
                "job dropped, its deadline passed job_id=%s task_id=%s node=%s deadline_ms=%d "
                "late_by_ms=%d %s",
                job.job_id, job.task_id, job.node, job.deadline_ms, now_ms - job.deadline_ms, where,
            )  # fmt: skip
            self._commit(msg)
            return
        self._remember(job.job_id)
        log.info("job started job_id=%s task_id=%s node=%s kind=%s %s", job.job_id, job.task_id, job.node, job.kind, where)  # fmt: skip
        outcome = self._run_polling(job, stop)
        if outcome is None:
            return  # stopping: not committed, so the job is read again
        self._publish(outcome)
        self._commit(msg)
        log.info(
            "job done job_id=%s task_id=%s node=%s %s timings_ms=%s",
            job.job_id, job.task_id, job.node,
            f"error_code={outcome.error_code}" if outcome.error_code else f"result={outcome.result.hex()}"  # type: ignore[union-attr]
            , outcome.timings_ms,
        )  # fmt: skip

    def _run_polling(self, job: Job, stop: threading.Event) -> Outcome | None:
        assert self._consumer is not None
        future: Future[Outcome] = self._executor.submit(self._runner.run, job)
        self._consumer.pause(self._consumer.assignment())
        try:
            while not future.done():
                if stop.is_set():
                    log.warning("stopping during job job_id=%s; it will be read again", job.job_id)
                    self._answered.pop(job.job_id, None)
                    return None
                extra = self._consumer.poll(self._config.poll_s)
                if extra is not None and extra.error() is None:
                    self._put_back(extra)
            return future.result()
        finally:
            self._consumer.resume(self._consumer.assignment())

    def _put_back(self, msg: Message) -> None:
        """A message read while a job runs (its partition was assigned during the job) is
        read again after it."""
        assert self._consumer is not None
        tp = _position(msg)
        self._consumer.pause([tp])
        self._consumer.seek(tp)

    # ---- effects ----

    def _publish(self, outcome: Outcome) -> None:
        assert self._producer is not None
        record = outcome.to_record(int(self._clock() * 1000))
        value = self._codec.encode("InferenceResult", record)
        self._produce_acked(self._config.results_topic, outcome.job.task_id.encode(), value)

    def _dead_letter(self, msg: Message, error: str, reason: str) -> None:
        log.error(
            "job rejected to %s topic=%s partition=%d offset=%d: %s: %s",
            self._config.dlq_topic, msg.topic(), msg.partition(), msg.offset(), error, reason,
        )  # fmt: skip
        record = dead_letter_record(
            topic=msg.topic() or "",
            partition=msg.partition() or 0,
            offset=msg.offset() or 0,
            key=msg.key(),
            value=msg.value(),
            consumer=self._config.group_id,
            error_type=error,
            reason=reason,
            now_ms=int(self._clock() * 1000),
        )
        value = self._codec.encode("DeadLetter", record)
        self._produce_acked(self._config.dlq_topic, msg.key(), value)

    def _produce_acked(self, topic: str, key: bytes | None, value: bytes) -> None:
        assert self._producer is not None
        errors: list[KafkaError] = []

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                errors.append(err)

        self._producer.produce(topic, key=key, value=value, on_delivery=delivered)
        remaining = self._producer.flush(FLUSH_TIMEOUT_S)
        if remaining or errors:
            raise KafkaException(errors[0] if errors else f"{topic}: not acked in {FLUSH_TIMEOUT_S}s")  # fmt: skip

    def _commit(self, msg: Message) -> None:
        assert self._consumer is not None
        tp = _position(msg, after=True)
        try:
            self._consumer.commit(offsets=[tp], asynchronous=False)
        except KafkaException as exc:
            # The partition went to another consumer during the job; it will run the job
            # again, and the saga drops the second result.
            log.warning("offset commit failed topic=%s partition=%d offset=%d: %s", msg.topic(), msg.partition(), msg.offset(), exc)  # fmt: skip

    def _remember(self, job_id: str) -> None:
        self._answered[job_id] = None
        while len(self._answered) > self._config.remembered_jobs:
            self._answered.popitem(last=False)


def _position(msg: Message, *, after: bool = False) -> TopicPartition:
    """Where `msg` is (or, `after`, the offset to commit once it is done)."""
    offset = msg.offset()
    assert msg.topic() is not None and msg.partition() is not None and offset is not None
    return TopicPartition(msg.topic(), msg.partition(), offset + 1 if after else offset)  # type: ignore[arg-type]
