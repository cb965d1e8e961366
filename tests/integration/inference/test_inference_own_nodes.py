"""Two operators' consumers on one inference.jobs, each in a group of its own with
`only_own_nodes`: every job is answered once, by the consumer holding its node's key, and the
other consumer commits past it without a dead letter. In the shared group, a job for a node
nobody holds is still dead-lettered.

The relay is an in-memory stand-in, as in test_inference_consumer.py.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import Consumer, Producer, TopicPartition
from eth_account import Account
from kafka_reading import committed_messages

from inference.consumer import ConsumerConfig, InferenceConsumer
from inference.engine import Engine
from inference.job import Job
from inference.job_runner import JobRunner
from schemas.catalog import INFERENCE_JOBS, INFERENCE_RESULTS, PARTITIONER
from schemas.codec import Codec
from schemas.task_args import TaskKind, args_hash

HOUR_MS = 3_600_000


class Relay:
    def __init__(self) -> None:
        self.args: dict[str, bytes] = {}

    def fetch_args(self, task_id: str, node: str) -> bytes:
        return self.args[task_id]

    def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()


@contextmanager
def consumer(
    bootstrap: str, engine: Engine, relay: Relay, node: str, *, group: str, only_own: bool
) -> Iterator[None]:
    config = ConsumerConfig(
        bootstrap=bootstrap, group_id=group, only_own_nodes=only_own, poll_s=0.05,
        session_timeout_ms=6_000, heartbeat_interval_ms=500,
    )  # fmt: skip
    running = InferenceConsumer(config, JobRunner(relay, relay, engine), frozenset({node}))
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def sd_job(relay: Relay, node: str, seed: int) -> Job:
    task_id = str(uuid.uuid4().int % 10**12)
    raw = json.dumps({"base_model": "tiny-sd15", "prompt": "a fox",
                      "task_config": {"image_width": 64, "image_height": 64, "steps": 2,
                                      "num_images": 1, "seed": seed}}).encode()  # fmt: skip
    relay.args[task_id] = raw
    now = int(time.time() * 1000)
    return Job(
        job_id=f"31337:{task_id}:{node}:infer", chain_id=31337, task_id=task_id, node=node,
        kind=TaskKind.SD, args_hash=args_hash(raw), model_ids=("base:tiny-sd15",),
        deadline_ms=now + HOUR_MS, requested_at_ms=now,
    )  # fmt: skip


def send(bootstrap: str, *jobs: Job) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": PARTITIONER})
    for j in jobs:
        producer.produce(INFERENCE_JOBS.name, key=j.task_id.encode(), value=Codec().encode("InferenceJob", j.to_record()))  # fmt: skip
    assert producer.flush(10) == 0


def answers(bootstrap: str, job_ids: set[str], expect: int, timeout_s: float = 120) -> list[str]:
    """The nodes of the results for `job_ids`, once `expect` of them are in (and a moment more,
    so that a duplicate would show)."""
    deadline = time.monotonic() + timeout_s
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [
            r["node"]
            for r in _records(bootstrap, INFERENCE_RESULTS.name, "InferenceResult")
            if r["job_id"] in job_ids
        ]
        if len(found) >= expect:
            time.sleep(2)
            break
        time.sleep(0.5)
    return [
        r["node"]
        for r in _records(bootstrap, INFERENCE_RESULTS.name, "InferenceResult")
        if r["job_id"] in job_ids
    ]


def dead_letters(bootstrap: str, job_ids: set[str]) -> list[str]:
    """The job ids among `job_ids` that inference.jobs.dlq holds, with their error types."""
    out = []
    for letter in _records(bootstrap, INFERENCE_JOBS.dlq.name, "DeadLetter"):
        _, job = Codec().decode(letter["value"], expect="InferenceJob")
        if job["job_id"] in job_ids:
            out.append(f"{job['job_id']}:{letter['error_type']}:{letter['consumer']}")
    return out


def _records(bootstrap: str, topic: str, expect: str) -> list[dict]:
    return [
        Codec().decode(m.value or b"", expect=expect)[1]
        for m in committed_messages(bootstrap, (topic,))
    ]


def committed_past(bootstrap: str, group: str, job: Job) -> bool:
    """Whether `group` committed an offset past `job` on the job's partition."""
    (where,) = [
        m
        for m in committed_messages(bootstrap, (INFERENCE_JOBS.name,))
        if Codec().decode(m.value or b"", expect="InferenceJob")[1]["job_id"] == job.job_id
    ]
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        (tp,) = reader.committed([TopicPartition(INFERENCE_JOBS.name, where.partition)], timeout=10)
    finally:
        reader.close()
    return tp.offset > where.offset


def test_each_operators_consumer_answers_its_own_nodes_and_skips_the_others(
    kafka_bootstrap: str, engine: Engine
) -> None:
    node_a, node_b = Account.create().address, Account.create().address
    group_a, group_b = (f"test-operator-{x}-{uuid.uuid4().hex[:6]}" for x in "ab")
    relay = Relay()
    job_a, job_b = sd_job(relay, node_a, seed=11), sd_job(relay, node_b, seed=12)
    ids = {job_a.job_id, job_b.job_id}
    with (
        consumer(kafka_bootstrap, engine, relay, node_a, group=group_a, only_own=True),
        consumer(kafka_bootstrap, engine, relay, node_b, group=group_b, only_own=True),
    ):
        send(kafka_bootstrap, job_a, job_b)
        nodes = answers(kafka_bootstrap, ids, expect=2)
        assert sorted(nodes) == sorted([node_a, node_b])  # each once, by its holder
        deadline = time.monotonic() + 30
        while not all(
            committed_past(kafka_bootstrap, g, j)
            for g in (group_a, group_b)
            for j in (job_a, job_b)
        ):
            assert time.monotonic() < deadline, "a consumer never committed past a job"
            time.sleep(0.5)
    assert dead_letters(kafka_bootstrap, ids) == []


def test_in_the_shared_group_a_job_nobody_holds_is_dead_lettered(
    kafka_bootstrap: str, engine: Engine
) -> None:
    ours, nobodys = Account.create().address, Account.create().address
    relay = Relay()
    orphan, marker = sd_job(relay, nobodys, seed=13), sd_job(relay, ours, seed=14)
    group = f"test-shared-{uuid.uuid4().hex[:6]}"
    with consumer(kafka_bootstrap, engine, relay, ours, group=group, only_own=False):
        send(kafka_bootstrap, orphan, marker)
        assert answers(kafka_bootstrap, {orphan.job_id, marker.job_id}, expect=1) == [ours]
        deadline = time.monotonic() + 30
        while not (letters := dead_letters(kafka_bootstrap, {orphan.job_id})):
            assert time.monotonic() < deadline, "the orphan job was never dead-lettered"
            time.sleep(0.5)
    assert letters == [f"{orphan.job_id}:UnknownNode:{group}"]
