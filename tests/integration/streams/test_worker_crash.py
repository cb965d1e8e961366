"""The faust worker killed with SIGKILL: nothing it asked for is lost, nothing is asked twice.

Two ways in. The first forges the crash the worker cannot prevent by itself: a table change on
the changelog whose commands never left the producer's buffer. A fresh worker recovers that
table and must send the commands again (before the fix they were lost for good: the inputs
that caused them find the change already applied and ask for nothing). The second is the
real thing: two workers share the partitions, one is killed mid-stream, the other takes its
partitions over, the killed one comes back, and the tasks still reach the same requests (by
id) and the same snapshots as a fresh fold of their events. Without `streams.faust_fixes`
the second one fails in most runs (7 of 9 here): faust loses messages after a rebalance
(issue 5).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from faust_harness import TopicTail, Worker, codec, worker_env
from kafka_reading import committed_messages
from web3 import Web3

from chain_bridge.ingest import Ingest, open_ingest
from chain_bridge.ingest_settings import IngestSettings
from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.anvil import throwaway_deployment
from hydrogen.gas_report import ContractsDriver, random_node_addresses
from hydrogen.topics import ensure_topics
from schemas.catalog import (
    CHAIN_TASK_EVENTS,
    CHAIN_TX_REQUESTS,
    INFERENCE_JOBS,
    INFERENCE_RESULTS,
    PARTITIONER,
    TASKS_HISTORY,
    TASKS_SNAPSHOTS,
)
from schemas.errors import DecodeError
from streams.agents_records import ProjectedTask, StateCodec, TaskEntry, table_key, task_snapshot
from streams.app import changelog_topics
from streams.domain import saga
from streams.domain import task as task_model
from streams.domain.deadline import KeeperState
from streams.domain.events import parse
from streams.domain.inputs import InferenceResult, derive_nonce
from streams.domain.saga import SagaConfig, SagaState
from streams.settings import StreamsSettings

KEEPER = devnet_account(Role.KEEPER).address
APP = devnet_account(Role.APP).address
NONCE_SECRET = b"a test secret of the faust tests"  # as faust_harness.worker_env sets it
SD_RESULT = bytes.fromhex("0123456789abcdef")
FEE_WEI = 10**18
_chain_ids = itertools.count(int(uuid.uuid4().int % 1_000_000) * 100 + 70_000)


@dataclass
class Chain:
    chain_id: int
    driver: ContractsDriver
    ingest: Ingest
    nodes: list[str]

    def publish(self) -> None:
        for _ in range(1_000):
            if self.ingest.step() == 0 and self.ingest.caught_up():
                return
        raise AssertionError("ingest never caught up")

    def create_tasks(self, n: int) -> list[tuple[str, list[str]]]:
        created = []
        for _ in range(n):
            task_id, _ = self.driver.create_task(APP, FEE_WEI)
            created.append((str(task_id), self.driver.selected_nodes(task_id)))
        self.publish()
        return created


@pytest.fixture
def chain(kafka_bootstrap: str) -> Iterator[Chain]:
    chain_id = next(_chain_ids)
    with throwaway_deployment(chain_id) as deployed:
        driver = ContractsDriver.from_deployment(deployed.w3, deployed.record)
        nodes = [Web3.to_checksum_address(a) for a in random_node_addresses(18)]
        for node in nodes:
            driver.fund_and_impersonate(node, 10**21)
            driver.join(node)
        ingest = open_ingest(
            IngestSettings(
                kafka_bootstrap=kafka_bootstrap,
                rpc_url=deployed.anvil.address,
                deployment_file=deployed.deployment_file,
            )
        )
        try:
            yield Chain(chain_id, driver, ingest, nodes)
        finally:
            ingest.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The workers' data and logs; pytest keeps the last runs' (`--basetemp` picks where)."""
    return tmp_path


def _env(kafka_bootstrap: str, app_id: str, chain: Chain, data_dir: Path) -> dict[str, str]:
    return worker_env(kafka_bootstrap, app_id, chain.nodes, KEEPER, data_dir)


def _settings(env: dict[str, str]) -> dict[str, str]:
    prefix = "HYDROGEN_STREAMS_"
    return {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}


def _task_events(bootstrap: str, chain_id: int, task_id: str) -> tuple[int, list[Any]]:
    """(partition, the task's domain events) read back from chain.task-events."""
    partition, events = -1, []
    for m in committed_messages(bootstrap, (CHAIN_TASK_EVENTS.name,)):
        if m.key != task_id.encode() or m.value is None:
            continue
        try:
            name, record = codec.decode(m.value)
        except DecodeError:
            continue  # another test's deliberate garbage under the same task id
        if name != "LogRetracted" and record.get("chain_id") == chain_id:
            events.append(parse(name, record))
            partition = m.partition
    return partition, events


def _produce_state(bootstrap: str, topic: str, partition: int, key: str, value: object) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(
        topic, key=json.dumps(key).encode(), value=StateCodec().dumps(value), partition=partition
    )
    assert producer.flush(10) == 0


def _ids(seen: list, name: str, field: str, prefix: str) -> list[str]:
    return [r[field] for _, n, r in seen if n == name and str(r[field]).startswith(prefix)]


def test_a_table_change_whose_commands_were_lost_is_sent_again_after_recovery(
    kafka_bootstrap: str, chain: Chain, workdir: Path
) -> None:
    task_id, chosen = chain.create_tasks(1)[0]
    partition, events = _task_events(kafka_bootstrap, chain.chain_id, task_id)
    assert len(events) >= 5, events  # TaskCreated, 3 x NodeSelected, TaskStarted

    # The crashed worker's last moment: it folded the task, asked for the three jobs, got
    # the first node's result and asked for its commitment; the table change reached the
    # changelog, the commands did not.
    config = SagaConfig(nodes=frozenset(chain.nodes))
    now = int(time.time() * 1000)
    state, asked = SagaState.start(task_id), []
    for event in events:
        state, commands = saga.step(state, event, now, config)
        asked += commands
    first = chosen[0]
    nonce = derive_nonce(NONCE_SECRET, chain.chain_id, task_id, first)
    result = InferenceResult(task_id, first, SD_RESULT, None, nonce)
    state, (commit,) = saga.step(state, result, now, config)
    assert len(asked) == 3
    key = table_key(chain.chain_id, task_id)
    app_id = f"hydrogen-streams-crash-{uuid.uuid4().hex[:8]}"
    env = _env(kafka_bootstrap, app_id, chain, workdir / "data")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    ensure_topics(admin, changelog_topics(StreamsSettings(_env_file=None, **_settings(env))))
    entry = TaskEntry(state, KeeperState(), partition, changed_at_ms=now)
    _produce_state(kafka_bootstrap, f"{app_id}-sagas-changelog", partition, key, entry)
    projected = ProjectedTask(state.task, partition, changed_at_ms=now)
    _produce_state(kafka_bootstrap, f"{app_id}-tasks-changelog", partition, key, projected)

    requests = TopicTail(kafka_bootstrap, CHAIN_TX_REQUESTS.name)
    jobs = TopicTail(kafka_bootstrap, INFERENCE_JOBS.name)
    snapshots = TopicTail(kafka_bootstrap, TASKS_SNAPSHOTS.name)
    history = TopicTail(kafka_bootstrap, TASKS_HISTORY.name)
    worker = Worker(env, workdir / "w.log")
    prefix = f"{chain.chain_id}:{task_id}:"
    try:
        requests.wait_for(
            lambda seen: commit.request_id in _ids(seen, "TxRequest", "request_id", prefix),  # type: ignore[union-attr]
            worker,
            "the lost commitment request",
        )
        waiting = {f"{prefix}{node}:infer" for node in chosen[1:]}  # no result yet
        jobs.wait_for(
            lambda seen: waiting <= set(_ids(seen, "InferenceJob", "job_id", prefix)),
            worker,
            "the two unanswered jobs",
        )

        def ours(seen: list) -> list[dict[str, Any]]:
            return [r for _, n, r in seen if r.get("chain_id") == chain.chain_id]

        snapshots.wait_for(lambda seen: len(ours(seen)) >= 1, worker, "the task's snapshot")
        history.wait_for(lambda seen: len(ours(seen)) >= 1, worker, "the task's history")
        requests.drain(2)
        jobs.drain(1)
        # Answered work is not asked again; what was asked is asked once more, same id.
        assert _ids(requests.seen, "TxRequest", "request_id", prefix) == [commit.request_id]  # type: ignore[union-attr]
        assert sorted(_ids(jobs.seen, "InferenceJob", "job_id", prefix)) == sorted(waiting)
        assert (
            ours(snapshots.seen)[-1]
            == codec.decode(codec.encode("TaskSnapshot", task_snapshot(state.task)))[1]
        )
        assert [(c["from_status"], c["to_status"]) for c in ours(history.seen)] == [
            ("None", "Running")
        ]
        assert "resent 3 unanswered commands" in worker.log_file.read_text()
    finally:
        worker.stop()
        for tail in (requests, jobs, snapshots, history):
            tail.close()


def _result(chain: Chain, task_id: str, node: str) -> bytes:
    return codec.encode(
        "InferenceResult",
        {
            "job_id": f"{chain.chain_id}:{task_id}:{node}:infer",
            "chain_id": chain.chain_id,
            "task_id": task_id,
            "node": node,
            "result": SD_RESULT,
            "error_code": None,
            "dtype": "float32",
            "timings_ms": {"run": 5},
            "blob_refs": [],
            "finished_at": int(time.time() * 1000),
        },
    )


RECOVERED = "recovered table sagas"  # logged by the worker after each rebalance


def _function_ids(seen: list, prefix: str, function: str) -> set[str]:
    return {
        r["request_id"]
        for _, n, r in seen
        if n == "TxRequest" and r["request_id"].startswith(prefix) and r["function"] == function
    }


def test_two_workers_one_killed_mid_stream_still_ask_for_everything_once(
    kafka_bootstrap: str, chain: Chain, workdir: Path
) -> None:
    app_id = f"hydrogen-streams-crash-{uuid.uuid4().hex[:8]}"
    requests = TopicTail(kafka_bootstrap, CHAIN_TX_REQUESTS.name)
    jobs = TopicTail(kafka_bootstrap, INFERENCE_JOBS.name)
    snapshots = TopicTail(kafka_bootstrap, TASKS_SNAPSHOTS.name)
    workers: list[Worker] = []  # stopped at the end, however far the test got
    prefix = f"{chain.chain_id}:"
    try:
        one = Worker(_env(kafka_bootstrap, app_id, chain, workdir / "d1"), workdir / "w1.log")
        workers.append(one)
        one.wait_log(RECOVERED, 1)
        two = Worker(_env(kafka_bootstrap, app_id, chain, workdir / "d2"), workdir / "w2.log")
        workers.append(two)
        two.wait_log(RECOVERED, 1)
        one.wait_log(RECOVERED, 2)  # the group has two members and both have split the partitions
        tasks = chain.create_tasks(len(chain.nodes) // 3)  # all of them run at once
        expected_jobs = {f"{prefix}{t}:{n}:infer" for t, nodes in tasks for n in nodes}
        jobs.wait_for(
            lambda seen: expected_jobs <= set(_ids(seen, "InferenceJob", "job_id", prefix)),
            two,
            "every job",
            missing=lambda seen: expected_jobs - set(_ids(seen, "InferenceJob", "job_id", prefix)),
        )
        assert one.count("command RunInference") and two.count("command RunInference"), (
            "both workers should own tasks: the test would not test the takeover"
        )
        producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": PARTITIONER})
        results = [(t, n) for t, nodes in tasks for n in nodes]
        half = len(results) // 2
        for i, (task_id, node) in enumerate(results):
            if i == half:
                one.kill()  # mid-stream: some results folded, some not, maybe some unsent
                two.wait_log(RECOVERED, 2)  # the survivor has taken the partitions over
            producer.produce(
                INFERENCE_RESULTS.name, key=task_id.encode(), value=_result(chain, task_id, node)
            )
            producer.poll(0)
        assert producer.flush(10) == 0
        expected_commits = {f"{prefix}{t}:{n}:commit" for t, n in results}
        requests.wait_for(
            lambda seen: expected_commits <= _function_ids(seen, prefix, "submitCommitment"),
            two,
            "every commitment",
            missing=lambda seen: expected_commits - _function_ids(seen, prefix, "submitCommitment"),
        )
        recovered = one.count(RECOVERED)  # the killed process's lines stay in the log
        one.restart()
        one.wait_log(RECOVERED, recovered + 1)  # back in the group: a second rebalance
        first_copies = {
            r["request_id"]: r
            for _, n, r in reversed(requests.seen)
            if n == "TxRequest" and r["request_id"] in expected_commits
        }
        for r in first_copies.values():  # the submitter's part: each request id once
            task_arg, digest = json.loads(r["args_json"])
            call = chain.driver.manager.functions.submitCommitment(
                int(task_arg), bytes.fromhex(digest[2:])
            )
            chain.driver.send(r["signer"], call)
        chain.publish()
        expected_discloses = {f"{prefix}{t}:{n}:disclose" for t, n in results}
        requests.wait_for(
            lambda seen: expected_discloses <= _function_ids(seen, prefix, "disclose"),
            two,
            "every disclosure",
            missing=lambda seen: expected_discloses - _function_ids(seen, prefix, "disclose"),
        )
        # No second attempt, no request of another shape: the set of ids is exactly the plan.
        requests.drain(2)
        asked = _function_ids(requests.seen, prefix, "submitCommitment") | _function_ids(
            requests.seen, prefix, "disclose"
        )
        assert asked == expected_commits | expected_discloses

        # Every task's latest snapshot is what a fresh fold of its events gives.
        for task_id, _ in tasks:
            _, events = _task_events(kafka_bootstrap, chain.chain_id, task_id)
            fresh = task_model.replay(task_id, events)
            want = codec.decode(codec.encode("TaskSnapshot", task_snapshot(fresh)))[1]
            assert want["status"] == "Disclosing"

            def latest(seen: list, task_id: str = task_id) -> dict[str, Any] | None:
                mine = [
                    r
                    for _, n, r in seen
                    if r.get("chain_id") == chain.chain_id and r["task_id"] == task_id
                ]
                return max(mine, key=lambda r: r["version"]) if mine else None

            snapshots.wait_for(
                lambda seen, want=want, latest=latest: latest(seen) == want,
                two,
                f"task {task_id}'s snapshot at version {want['version']}",
                missing=lambda seen, want=want, latest=latest: (
                    f"{want}, latest seen {latest(seen)}"
                ),
            )
        for w in (one, two):
            assert w.count("Traceback") == 0, w.tail()
    finally:
        for worker in workers:
            worker.stop()
        for tail in (requests, jobs, snapshots):
            tail.close()
