"""The streams' faust worker against real Kafka and a real chain.

One worker runs for the whole module (`python -m hydrogen streams worker` in a subprocess, with
an app id of its own, so its group and changelogs are fresh): a faust worker takes tens of
seconds to join its group, too slow to start per test. The chain is a throwaway anvil with a
chain id of its own, brought onto the session devnet's topics by the real ingest; every devnet
node account is configured as ours, so whichever three nodes the contract selects are ours.

The tests follow one task through its life, in file order: the jobs asked for, a rejected
result and an undecodable event sent to the dead-letter topics, then the commitments and the
disclosures, which this test (playing the submitter) sends on chain, where the contract checks
that each disclosure matches its commitment; then the read models of the task and of the
nodes that joined.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from faust_harness import TopicTail, Worker, codec, worker_env

from chain_bridge.ingest import Ingest, open_ingest
from chain_bridge.ingest_settings import IngestSettings
from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.anvil import throwaway_deployment
from hydrogen.gas_report import ContractsDriver
from schemas.catalog import (
    CHAIN_TASK_EVENTS,
    CHAIN_TX_OUTCOMES,
    CHAIN_TX_REQUESTS,
    INFERENCE_JOBS,
    INFERENCE_RESULTS,
    NODES_SNAPSHOTS,
    PARTITIONER,
    TASKS_HISTORY,
    TASKS_SNAPSHOTS,
)
from streams.domain.protocol import NodeStatus
from streams.projection import label

NODES = [devnet_account(Role.FIRST_NODE + i).address for i in range(4)]  # all ours
DEPLOYER = devnet_account(Role.DEPLOYER).address
KEEPER = devnet_account(Role.KEEPER).address
APP = devnet_account(Role.APP).address
SD_RESULT = bytes.fromhex("0123456789abcdef")  # one image's 8-byte p-hash
FEE_WEI = 10**18
_chain_ids = itertools.count(int(uuid.uuid4().int % 1_000_000) * 100 + 60_000)


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str) -> Iterator[Worker]:
    with tempfile.TemporaryDirectory(prefix="hydrogen-faust-") as tmp:
        app_id = f"hydrogen-streams-test-{uuid.uuid4().hex[:8]}"
        env = worker_env(kafka_bootstrap, app_id, NODES, KEEPER, Path(tmp) / "data")
        w = Worker(env, Path(tmp) / "worker.log")
        try:
            yield w
        finally:
            w.stop()


@dataclass
class Scenario:
    chain_id: int
    driver: ContractsDriver
    ingest: Ingest
    task_id: str = ""
    chosen: list[str] = field(default_factory=list)

    def publish_chain(self) -> None:
        for _ in range(1_000):
            if self.ingest.step() == 0 and self.ingest.caught_up():
                return
        raise AssertionError("ingest never caught up")


@pytest.fixture(scope="module")
def scenario(worker: Worker, kafka_bootstrap: str) -> Iterator[Scenario]:
    chain_id = next(_chain_ids)
    with throwaway_deployment(chain_id) as chain:
        w3, record, anvil = chain.w3, chain.record, chain.anvil
        deployment_file = chain.deployment_file
        ingest = open_ingest(
            IngestSettings(
                kafka_bootstrap=kafka_bootstrap,
                rpc_url=anvil.address,
                deployment_file=deployment_file,
            )
        )
        try:
            yield Scenario(chain_id, ContractsDriver.from_deployment(w3, record), ingest)
        finally:
            ingest.close()


@pytest.fixture(scope="module")
def tails(kafka_bootstrap: str) -> Iterator[dict[str, TopicTail]]:
    topics = (
        INFERENCE_JOBS.name,
        CHAIN_TX_REQUESTS.name,
        TASKS_SNAPSHOTS.name,
        TASKS_HISTORY.name,
        NODES_SNAPSHOTS.name,
        CHAIN_TASK_EVENTS.dlq.name,
        INFERENCE_RESULTS.dlq.name,
    )
    opened = {t: TopicTail(kafka_bootstrap, t) for t in topics}
    yield opened
    for t in opened.values():
        t.close()


@pytest.fixture(scope="module")
def producer(kafka_bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": PARTITIONER})


def _produce(producer: Producer, topic: str, key: str, value: bytes) -> None:
    producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(10) == 0


def _result(s: Scenario, node: str, result: bytes) -> bytes:
    return codec.encode(
        "InferenceResult",
        {
            "job_id": f"{s.chain_id}:{s.task_id}:{node}:infer",
            "chain_id": s.chain_id,
            "task_id": s.task_id,
            "node": node,
            "result": result,
            "error_code": None,
            "dtype": "float32",
            "timings_ms": {"run": 12},
            "blob_refs": [],
            "finished_at": int(time.time() * 1000),
        },
    )


def _requests(s: Scenario, seen: list, function: str) -> dict[str, dict[str, Any]]:
    """TxRequests of this chain's task for `function`, by request id (duplicates collapse,
    as the submitter drops a request id it has seen)."""
    prefix = f"{s.chain_id}:{s.task_id}:"
    return {
        r["request_id"]: r
        for _, name, r in seen
        if name == "TxRequest" and r["request_id"].startswith(prefix) and r["function"] == function
    }


def test_a_started_task_asks_each_of_our_selected_nodes_to_run_it(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail]
) -> None:
    for node in NODES:
        scenario.driver.join(node)
    task_id, _ = scenario.driver.create_task(APP, FEE_WEI)
    scenario.task_id, scenario.chosen = str(task_id), scenario.driver.selected_nodes(task_id)
    scenario.publish_chain()

    def jobs(seen: list) -> dict[str, dict[str, Any]]:
        return {
            r["job_id"]: r
            for _, name, r in seen
            if name == "InferenceJob" and r["chain_id"] == scenario.chain_id
        }

    tails[INFERENCE_JOBS.name].wait_for(lambda seen: len(jobs(seen)) == 3, worker, "3 jobs")
    found = jobs(tails[INFERENCE_JOBS.name].seen)
    assert sorted(found) == sorted(
        f"{scenario.chain_id}:{task_id}:{node}:infer" for node in scenario.chosen
    )
    job = next(iter(found.values()))
    assert (job["task_id"], job["task_type"], job["model_ids"]) == (
        str(task_id),
        "SD",
        ["base:sd15"],
    )
    assert job["args_hash"] == b"\x11" * 32


def test_an_undecodable_event_and_a_malformed_result_go_to_the_dead_letter_topics(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail], producer: Producer
) -> None:
    garbage = b"not avro " + uuid.uuid4().bytes
    _produce(producer, CHAIN_TASK_EVENTS.name, scenario.task_id, garbage)
    short = _result(scenario, scenario.chosen[0], b"\x01\x02\x03")  # not 8-byte p-hashes
    _produce(producer, INFERENCE_RESULTS.name, scenario.task_id, short)

    def letter(seen: list, value: bytes) -> dict[str, Any] | None:
        return next((r for _, n, r in seen if n == "DeadLetter" and r["value"] == value), None)

    events_dlq = tails[CHAIN_TASK_EVENTS.dlq.name]
    events_dlq.wait_for(lambda seen: letter(seen, garbage) is not None, worker, "dead letter")
    dead = letter(events_dlq.seen, garbage)
    assert dead is not None
    assert (dead["source_topic"], dead["key"]) == (
        CHAIN_TASK_EVENTS.name,
        scenario.task_id.encode(),
    )
    assert dead["error_type"] == "DecodeError"
    assert "not an Avro single-object message" in dead["reason"]

    results_dlq = tails[INFERENCE_RESULTS.dlq.name]
    results_dlq.wait_for(lambda seen: letter(seen, short) is not None, worker, "dead letter")
    rejected = letter(results_dlq.seen, short)
    assert rejected is not None
    assert rejected["error_type"] == "BadInferenceResult"
    assert "3-byte result is not well formed" in rejected["reason"]


def test_results_of_our_nodes_become_commitment_requests(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail], producer: Producer
) -> None:
    # The worker is still going: the next messages on the same partitions are processed.
    for node in scenario.chosen:
        _produce(
            producer, INFERENCE_RESULTS.name, scenario.task_id, _result(scenario, node, SD_RESULT)
        )
    requests = tails[CHAIN_TX_REQUESTS.name]
    requests.wait_for(
        lambda seen: len(_requests(scenario, seen, "submitCommitment")) == 3, worker, "commits"
    )
    commits = _requests(scenario, requests.seen, "submitCommitment")
    prefix = f"{scenario.chain_id}:{scenario.task_id}"
    assert sorted(commits) == sorted(f"{prefix}:{node}:commit" for node in scenario.chosen)


def test_a_commitment_reverted_without_a_reason_is_asked_again_with_the_next_attempt_id(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail], producer: Producer
) -> None:
    # Outcomes are keyed by request id (3 partitions); the worker routes each to its task.
    first = f"{scenario.chain_id}:{scenario.task_id}:{scenario.chosen[0]}:commit"
    outcome = {
        "request_id": first,
        "signer": scenario.chosen[0],
        "status": "REVERTED",
        "reason": "out of gas",
        "observed_at": int(time.time() * 1000),
    }
    _produce(producer, CHAIN_TX_OUTCOMES.name, first, codec.encode("TxOutcome", outcome))
    requests = tails[CHAIN_TX_REQUESTS.name]
    requests.wait_for(
        lambda seen: f"{first}:2" in _requests(scenario, seen, "submitCommitment"),
        worker,
        "a second attempt",
    )
    attempts = _requests(scenario, requests.seen, "submitCommitment")
    assert attempts[f"{first}:2"]["args_json"] == attempts[first]["args_json"]


def test_commitments_on_chain_lead_to_disclosures_that_the_chain_accepts(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail]
) -> None:
    requests = tails[CHAIN_TX_REQUESTS.name]
    prefix = f"{scenario.chain_id}:{scenario.task_id}"
    commits = {
        request_id: r
        for request_id, r in _requests(scenario, requests.seen, "submitCommitment").items()
        if request_id.endswith(":commit")
    }
    manager = scenario.driver.manager
    for r in commits.values():  # the submitter's part
        task_arg, digest = json.loads(r["args_json"])
        assert (r["signer"], r["origin"]) == (r["request_id"].split(":")[2], "streams.node-saga")
        call = manager.functions.submitCommitment(int(task_arg), bytes.fromhex(digest[2:]))
        scenario.driver.send(r["signer"], call)
    scenario.publish_chain()

    requests.wait_for(
        lambda seen: len(_requests(scenario, seen, "disclose")) == 3, worker, "disclosures"
    )
    discloses = _requests(scenario, requests.seen, "disclose")
    assert sorted(discloses) == sorted(f"{prefix}:{node}:disclose" for node in scenario.chosen)
    for r in discloses.values():  # reverts unless keccak(result ‖ nonce) is the commitment
        task_arg, result, nonce = json.loads(r["args_json"])
        assert bytes.fromhex(result[2:]) == SD_RESULT
        call = manager.functions.disclose(
            int(task_arg), bytes.fromhex(result[2:]), bytes.fromhex(nonce[2:])
        )
        scenario.driver.send(r["signer"], call)
    scenario.publish_chain()


def test_snapshots_and_status_history_follow_the_task(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail]
) -> None:
    def ours(seen: list, name: str) -> list[dict[str, Any]]:
        return [
            r
            for _, n, r in seen
            if n == name and r["chain_id"] == scenario.chain_id and r["task_id"] == scenario.task_id
        ]

    history = tails[TASKS_HISTORY.name]
    history.wait_for(
        lambda seen: any(r["to_status"] == "Validated" for r in ours(seen, "TaskStatusChanged")),
        worker,
        "Validated in tasks.history",
    )
    changes = ours(history.seen, "TaskStatusChanged")
    assert [(c["from_status"], c["to_status"]) for c in changes] == [
        ("None", "Running"),
        ("Running", "Disclosing"),
        ("Disclosing", "Validated"),
    ]
    disclosing, validated = changes[1], changes[2]
    assert disclosing["phase_ms"] is not None and disclosing["phase_ms"] >= 0
    assert validated["since_created_ms"] >= disclosing["since_created_ms"]
    assert len({c["event_id"] for c in changes}) == len(changes)

    snapshots = tails[TASKS_SNAPSHOTS.name]
    snapshots.wait_for(
        lambda seen: any(r["status"] == "Validated" for r in ours(seen, "TaskSnapshot")),
        worker,
        "a Validated snapshot",
    )
    latest = ours(snapshots.seen, "TaskSnapshot")[-1]
    assert latest["status"] == "Validated"
    assert sorted(m["node"] for m in latest["members"]) == sorted(scenario.chosen)
    assert all(m["committed"] and m["disclosed"] for m in latest["members"])
    assert latest["result"] == SD_RESULT
    versions = [r["version"] for r in ours(snapshots.seen, "TaskSnapshot")]
    assert versions == sorted(versions)


def test_node_snapshots_show_each_joined_node_as_the_chain_has_it(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail]
) -> None:
    registry = scenario.driver.registry

    def on_chain(node: str) -> dict[str, Any]:
        status, _, vram, _, stake, _, gpu_name, _ = registry.functions.getNode(node).call()
        return {
            "status": label(NodeStatus(status)),
            "stake_wei": str(stake),
            "gpu_name": gpu_name,
            "vram": vram,
            "tasks": int(node in scenario.chosen),  # the validated task; nothing paid yet
            "successes": 0,
        }

    want = {node: on_chain(node) for node in NODES}

    def latest(seen: list) -> dict[str, dict[str, Any]]:
        mine: dict[str, dict[str, Any]] = {}
        for key, name, r in seen:
            if name == "NodeSnapshot" and r["chain_id"] == scenario.chain_id:
                assert key == r["address"].encode()
                if r["version"] >= mine.get(r["address"], {"version": -1})["version"]:
                    mine[r["address"]] = r
        return mine

    def shown(seen: list) -> dict[str, dict[str, Any]]:
        return {node: {k: r[k] for k in want[node]} for node, r in latest(seen).items()}

    snapshots = tails[NODES_SNAPSHOTS.name]
    snapshots.wait_for(lambda seen: shown(seen) == want, worker, "node snapshots as on chain")
    assert {want[node]["status"] for node in scenario.chosen} == {"Busy"}
    for node, snapshot in latest(snapshots.seen).items():
        assert snapshot["joined_at"] is not None
        assert snapshot["current_task"] == (scenario.task_id if node in scenario.chosen else None)


def test_the_keeper_expires_a_phase_once_its_deadline_has_passed(
    scenario: Scenario, worker: Worker, tails: dict[str, TopicTail]
) -> None:
    manager = scenario.driver.manager
    scenario.driver.send(DEPLOYER, manager.functions.setTimeouts(0, (2, 60, 60, 60)))
    # Three of the four nodes are still busy with the validated task: this one is queued.
    task_id, _ = scenario.driver.create_task(APP, FEE_WEI)
    scenario.publish_chain()
    prefix = f"{scenario.chain_id}:{task_id}:expire:Queued:"

    def expires(seen: list) -> list[dict[str, Any]]:
        return [r for _, n, r in seen if n == "TxRequest" and r["request_id"].startswith(prefix)]

    requests = tails[CHAIN_TX_REQUESTS.name]
    requests.wait_for(lambda seen: len(expires(seen)) >= 1, worker, "an expire request", 30)
    (expire,) = expires(requests.seen)
    queue_deadline = int(expire["request_id"].rsplit(":", 1)[1])
    assert expire["requested_at"].timestamp() * 1000 > queue_deadline * 1000 + 2000  # + grace
    assert (expire["signer"], expire["function"], expire["origin"]) == (
        KEEPER,
        "expire",
        "streams.deadline-keeper",
    )
    scenario.driver.send(KEEPER, manager.functions.expire(task_id))  # the chain agrees
    requests.drain(3)  # more ticks: still one request for this (phase, deadline)
    assert len(expires(requests.seen)) == 1


def test_the_worker_logged_no_error_it_did_not_handle(worker: Worker) -> None:
    log = worker.log_file.read_text(errors="replace")
    problems = [line for line in log.splitlines() if "Traceback" in line or "[ERROR]" in line]
    assert problems == [], "\n".join(problems[:20])
