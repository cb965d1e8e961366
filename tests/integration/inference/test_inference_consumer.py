"""The consumer against real Kafka: jobs in, results out, offsets committed after results.

The relay is an in-memory stand-in here (see the report in the module's issue): arguments are
served and staged blobs kept in dicts behind the consumer's `ArgsSource`/`ResultSink` ports.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from inference.consumer import ConsumerConfig, InferenceConsumer
from inference.engine import Engine
from inference.errors import ErrorCode
from inference.job import Job
from inference.job_runner import JobRunner
from schemas.catalog import INFERENCE_JOBS, INFERENCE_RESULTS, PARTITIONER
from schemas.codec import Codec
from schemas.phash import phash_png
from schemas.task_args import TaskKind, args_hash

NODE = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
OTHER_NODE = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
HOUR_MS = 3_600_000


class Relay:
    def __init__(self) -> None:
        self.args: dict[str, bytes] = {}
        self.staged: dict[tuple[str, int], bytes] = {}

    def fetch_args(self, task_id: str, node: str) -> bytes:
        return self.args[task_id]

    def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
        self.staged[(task_id, index)] = data
        return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def running(kafka_bootstrap: str, engine: Engine) -> Iterator[tuple[Relay, ConsumerConfig]]:
    """One consumer (one group) for the module: a new group would read every earlier job again."""
    relay = Relay()
    config = ConsumerConfig(
        bootstrap=kafka_bootstrap, group_id=f"test-inference-{uuid.uuid4().hex[:8]}",
        poll_s=0.05, session_timeout_ms=6_000, heartbeat_interval_ms=500,
    )  # fmt: skip
    consumer = InferenceConsumer(config, JobRunner(relay, relay, engine), frozenset({NODE}))
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    yield relay, config
    stop.set()
    thread.join(30)


def sd_task(relay: Relay, seed: int = 1) -> tuple[str, bytes]:
    task_id = str(uuid.uuid4().int % 10**12)
    raw = json.dumps({"base_model": "tiny-sd15", "prompt": "a fox",
                      "task_config": {"image_width": 64, "image_height": 64, "steps": 2,
                                      "num_images": 2, "seed": seed}}).encode()  # fmt: skip
    relay.args[task_id] = raw
    return task_id, raw


def job(task_id: str, raw: bytes, *, node: str = NODE, deadline_in_ms: int = HOUR_MS) -> Job:
    now = int(time.time() * 1000)
    return Job(
        job_id=f"31337:{task_id}:{node}:infer", chain_id=31337, task_id=task_id, node=node,
        kind=TaskKind.SD, args_hash=args_hash(raw), model_ids=("base:tiny-sd15",),
        deadline_ms=now + deadline_in_ms, requested_at_ms=now,
    )  # fmt: skip


def send(bootstrap: str, *jobs: Job) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": PARTITIONER})
    for j in jobs:
        producer.produce(INFERENCE_JOBS.name, key=j.task_id.encode(), value=Codec().encode("InferenceJob", j.to_record()))  # fmt: skip
    assert producer.flush(10) == 0


def results(bootstrap: str, job_ids: set[str], expect: int, timeout_s: float = 120) -> list[dict]:
    reader = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    reader.assign(
        [TopicPartition(INFERENCE_RESULTS.name, p, 0) for p in range(INFERENCE_RESULTS.partitions)]
    )
    found: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and len(found) < expect:
            msg = reader.poll(0.2)
            if msg is None or msg.error():
                continue
            _, record = Codec().decode(msg.value(), expect="InferenceResult")
            if record["job_id"] in job_ids:
                found.append(record)
        time.sleep(0.5)  # anything more than expected would show up here
        while (msg := reader.poll(0.5)) is not None:
            if not msg.error():
                _, record = Codec().decode(msg.value(), expect="InferenceResult")
                if record["job_id"] in job_ids:
                    found.append(record)
    finally:
        reader.close()
    return found


def committed(bootstrap: str, group_id: str, task_id: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id})
    try:
        parts = c.committed(
            [TopicPartition(INFERENCE_JOBS.name, p) for p in range(INFERENCE_JOBS.partitions)],
            timeout=10,
        )
        return sum(max(tp.offset, 0) for tp in parts)
    finally:
        c.close()


def test_a_job_becomes_a_result_with_its_images_staged(kafka_bootstrap: str, running) -> None:  # type: ignore[no-untyped-def]
    relay, config = running
    task_id, raw = sd_task(relay)
    j = job(task_id, raw)
    send(kafka_bootstrap, j)
    (record,) = results(kafka_bootstrap, {j.job_id}, 1)
    assert record["error_code"] is None and record["dtype"] == "float32"
    pngs = [relay.staged[(task_id, i)] for i in range(2)]
    assert record["result"] == b"".join(phash_png(p) for p in pngs)
    assert record["blob_refs"] == [hashlib.sha256(p).hexdigest() for p in pngs]
    assert {"fetch", "run", "hash", "upload"} <= set(record["timings_ms"])
    assert committed(kafka_bootstrap, config.group_id, task_id) >= 1


def test_a_resent_job_is_answered_once(kafka_bootstrap: str, running) -> None:  # type: ignore[no-untyped-def]
    relay, _ = running
    task_id, raw = sd_task(relay, seed=2)
    j = job(task_id, raw)
    send(kafka_bootstrap, j, j)
    assert len(results(kafka_bootstrap, {j.job_id}, 2, timeout_s=60)) == 1


def test_bad_hash_and_bad_args_are_error_results(kafka_bootstrap: str, running) -> None:  # type: ignore[no-untyped-def]
    relay, _ = running
    task_a, raw_a = sd_task(relay)
    bad_hash = replace(job(task_a, raw_a), args_hash=b"\x01" * 32)
    task_b = str(uuid.uuid4().int % 10**12)
    relay.args[task_b] = b'{"base_model": "tiny-sd15", "prompt": "x", "task_config": {"steps": 0}}'
    bad_args = job(task_b, relay.args[task_b])
    send(kafka_bootstrap, bad_hash, bad_args)
    found = {
        r["job_id"]: r for r in results(kafka_bootstrap, {bad_hash.job_id, bad_args.job_id}, 2)
    }
    assert found[bad_hash.job_id]["error_code"] == ErrorCode.ARGS_HASH_MISMATCH
    assert found[bad_args.job_id]["error_code"] == ErrorCode.ARGS_INVALID
    assert found[bad_args.job_id]["result"] is None


def test_a_missing_model_is_an_error_result(kafka_bootstrap: str, running) -> None:  # type: ignore[no-untyped-def]
    relay, _ = running
    task_id = str(uuid.uuid4().int % 10**12)
    relay.args[task_id] = b'{"base_model": "nobody/missing", "prompt": "x", "task_config": {}}'
    j = job(task_id, relay.args[task_id])
    send(kafka_bootstrap, j)
    (record,) = results(kafka_bootstrap, {j.job_id}, 1)
    assert record["error_code"] == ErrorCode.MODEL_UNAVAILABLE


def test_a_job_past_its_deadline_or_for_another_node_gets_no_result(
    kafka_bootstrap: str, running
) -> None:  # type: ignore[no-untyped-def]
    relay, _ = running
    task_id, raw = sd_task(relay)
    late = job(task_id, raw, deadline_in_ms=-1_000)
    foreign = job(task_id, raw, node=OTHER_NODE)
    marker_task, marker_raw = sd_task(relay, seed=3)
    marker = job(marker_task, marker_raw)  # sent last: once it is answered, the others were read
    send(kafka_bootstrap, late, foreign, marker)
    found = results(kafka_bootstrap, {late.job_id, foreign.job_id, marker.job_id}, 3, timeout_s=60)
    assert [r["job_id"] for r in found] == [marker.job_id]
