"""Ingest against real anvil and Kafka: every log exactly once, in chain order, across reorgs.

Each test gets a chain of its own (anvil with a unique chain id and freshly deployed
contracts), so its cursor, transactional id and events never mix with another test's; the
Kafka topics are the session devnet's, and events are told apart by chain id.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka_reading import committed_messages
from web3 import Web3

from chain_bridge.errors import ReorgTooDeepError
from chain_bridge.ingest import Ingest, open_ingest, read_cursor
from chain_bridge.ingest_settings import IngestSettings
from chain_bridge.rpc import JsonRpc
from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.anvil import throwaway_deployment
from hydrogen.gas_report import ContractsDriver, lifecycle_gas
from schemas.catalog import (
    CHAIN_CONTRACT_EVENTS,
    CHAIN_NODE_EVENTS,
    CHAIN_TASK_EVENTS,
)
from schemas.codec import Codec
from schemas.errors import DecodeError

EVENT_TOPICS = (CHAIN_TASK_EVENTS.name, CHAIN_NODE_EVENTS.name, CHAIN_CONTRACT_EVENTS.name)
_chain_ids = itertools.count(int(uuid.uuid4().int % 1_000_000) * 100 + 40_000)


@dataclass
class Chain:
    w3: Web3
    rpc_url: str
    deployment_file: Path
    driver: ContractsDriver
    chain_id: int

    def rpc(self, method: str, params: list) -> object:
        return self.driver.rpc(method, params)


@pytest.fixture
def chain() -> Iterator[Chain]:
    chain_id = next(_chain_ids)
    with throwaway_deployment(chain_id) as c:
        driver = ContractsDriver.from_deployment(c.w3, c.record)
        yield Chain(c.w3, c.anvil.address, c.deployment_file, driver, chain_id)


def settings(chain: Chain, kafka_bootstrap: str, **overrides: object) -> IngestSettings:
    return IngestSettings(
        kafka_bootstrap=kafka_bootstrap,
        rpc_url=chain.rpc_url,
        deployment_file=chain.deployment_file,
        **overrides,
    )


def run_to_head(ingest: Ingest) -> None:
    for _ in range(1_000):
        if ingest.step() == 0 and ingest.caught_up():
            return
    raise AssertionError("ingest never caught up")


def ground_truth(chain: Chain) -> list[str]:
    """Event ids of every protocol log on the chain now, in chain order."""
    record = json.loads(chain.deployment_file.read_text())
    addresses = [record["contracts"][n]["address"] for n in ("NodeRegistry", "TaskManager")]
    rpc = JsonRpc(chain.rpc_url)
    logs = rpc.get_logs(addresses, 0, rpc.block_number())
    return [f"{chain.chain_id}:{x['transactionHash']}:{int(x['logIndex'], 16)}" for x in logs]


@dataclass(frozen=True)
class Seen:
    topic: str
    key: str
    name: str
    record: dict


def published(
    kafka_bootstrap: str, chain_id: int, topics: tuple[str, ...] = EVENT_TOPICS
) -> list[Seen]:
    """Every committed record of `chain_id` on the event topics, in offset order per partition."""
    codec = Codec()
    seen = []
    for m in committed_messages(kafka_bootstrap, topics):
        topic, key, value = m.topic, m.key, m.value
        try:
            name, record = codec.decode(value)
        except DecodeError:
            continue  # another test's deliberate garbage on the shared topic
        if record.get("chain_id") == chain_id:
            seen.append(Seen(topic, key.decode(), name, record))
    return seen


def standing(seen: list[Seen]) -> list[Seen]:
    """Events not retracted later."""
    retracted = {s.record["event_id"] for s in seen if s.name == "LogRetracted"}
    return [s for s in seen if s.name != "LogRetracted" and s.record["event_id"] not in retracted]


def in_chain_order(events: list[Seen]) -> list[str]:
    return [
        s.record["event_id"]
        for s in sorted(events, key=lambda s: (s.record["block_number"], s.record["log_index"]))
    ]


def test_a_task_lifecycle_appears_on_the_topics_once_each_in_chain_order(
    chain: Chain, kafka_bootstrap: str
) -> None:
    lifecycle_gas(chain.driver)  # joins, a whole task, pauses, a queued and an expired task
    ingest = open_ingest(settings(chain, kafka_bootstrap, range_blocks=7))
    run_to_head(ingest)

    seen = published(kafka_bootstrap, chain.chain_id)
    truth = ground_truth(chain)
    assert sorted(s.record["event_id"] for s in seen) == sorted(truth)  # each exactly once
    # Per key (one partition), the topic holds the events in chain order.
    by_key: dict[tuple[str, str], list[str]] = {}
    for s in seen:
        by_key.setdefault((s.topic, s.key), []).append(s.record["event_id"])
    position = {event_id: i for i, event_id in enumerate(truth)}
    for ids in by_key.values():
        assert ids == sorted(ids, key=position.__getitem__)

    task_names = [s.name for s in seen if s.topic == CHAIN_TASK_EVENTS.name and s.key == "1"]
    assert task_names[0] == "TaskCreated"
    assert task_names.count("NodeSelected") == 3
    assert task_names.count("CommitmentSubmitted") == 3
    assert task_names.count("ResultDisclosed") == 3
    order = ["TaskStarted", "DisclosureOpened", "TaskValidated", "TaskCompleted"]
    assert [n for n in task_names if n in order] == order
    created = next(s.record for s in seen if s.name == "TaskCreated")
    assert created["fee"] == str(10**18)
    assert created["event_id"].startswith(f"{chain.chain_id}:0x")


def test_catch_up_publishes_a_backlog_committed_by_the_time_it_returns(
    chain: Chain, kafka_bootstrap: str
) -> None:
    """The pipelined backfill: many ranges, most deeper than the window, each range's commit
    overlapping the next range's work, and a reorg just after it still undone."""
    _join_burst(chain, 12)
    lifecycle_gas(chain.driver)
    ingest = open_ingest(settings(chain, kafka_bootstrap, range_blocks=3, window_blocks=4))
    head, start = chain.w3.eth.block_number, ingest.cursor.next_block
    assert ingest.catch_up() == head + 1 - start

    # Committed when catch_up returns: a read_committed reader sees all of it, no close().
    seen = published(kafka_bootstrap, chain.chain_id)
    assert in_chain_order(seen) == ground_truth(chain)
    times = {s.record["block_number"]: s.record["block_time"] for s in seen}
    for n, at in times.items():  # block times from the logs' blockTimestamp
        assert at == datetime.fromtimestamp(chain.w3.eth.get_block(n)["timestamp"], UTC)
    cursor = read_cursor(kafka_bootstrap, chain.chain_id, window_blocks=4)
    assert cursor is not None and cursor.next_block == head + 1
    assert [b.number for b in cursor.window.blocks] == list(range(head - 3, head + 1))

    chain.rpc("anvil_reorg", [2, []])
    _join_burst(chain, 1, offset=100)
    assert ingest.catch_up() >= 1
    seen = published(kafka_bootstrap, chain.chain_id)
    assert in_chain_order(standing(seen)) == ground_truth(chain)


def test_a_restarted_ingest_resumes_after_its_last_committed_batch(
    chain: Chain, kafka_bootstrap: str
) -> None:
    for i in range(4):
        account = Web3.to_checksum_address(f"0x{i + 1:040x}")
        chain.driver.fund_and_impersonate(account, 10**24)
        chain.driver.join(account)
    first = open_ingest(settings(chain, kafka_bootstrap))
    run_to_head(first)
    lifecycle_gas(chain.driver)
    second = open_ingest(settings(chain, kafka_bootstrap))  # fences the first
    assert second.cursor.next_block == first.cursor.next_block
    run_to_head(second)

    ids = [s.record["event_id"] for s in published(kafka_bootstrap, chain.chain_id)]
    assert sorted(ids) == sorted(ground_truth(chain))


def _join_burst(chain: Chain, n: int, offset: int = 0) -> None:
    for i in range(n):
        account = Web3.to_checksum_address(f"0x{offset + i + 1:040x}")
        chain.driver.fund_and_impersonate(account, 10**24)
        chain.driver.join(account)


def test_a_reorg_at_confirmations_0_retracts_what_vanished_and_publishes_the_new_branch(
    chain: Chain, kafka_bootstrap: str
) -> None:
    ingest = open_ingest(settings(chain, kafka_bootstrap, confirmations=0))
    _join_burst(chain, 6)
    run_to_head(ingest)
    before = ground_truth(chain)

    chain.rpc("anvil_reorg", [4, []])  # the last 4 blocks (4 joins) are replaced by empty ones
    _join_burst(chain, 2, offset=100)
    run_to_head(ingest)

    seen = published(kafka_bootstrap, chain.chain_id)
    retracted = [s.record["event_id"] for s in seen if s.name == "LogRetracted"]
    truth = ground_truth(chain)
    assert sorted(retracted) == sorted(set(before) - set(truth))
    assert len(retracted) >= 4  # each join emits NodeJoined (and a status change)
    assert in_chain_order(standing(seen)) == truth
    for r in (s for s in seen if s.name == "LogRetracted"):
        assert r.topic == CHAIN_NODE_EVENTS.name  # on the topic and key of what it retracts


def test_confirmations_deeper_than_a_reorg_publish_nothing_that_vanishes(
    chain: Chain, kafka_bootstrap: str
) -> None:
    ingest = open_ingest(settings(chain, kafka_bootstrap, confirmations=6))
    _join_burst(chain, 8)
    run_to_head(ingest)
    chain.rpc("anvil_reorg", [3, []])
    _join_burst(chain, 8, offset=100)
    run_to_head(ingest)

    seen = published(kafka_bootstrap, chain.chain_id)
    assert [s for s in seen if s.name == "LogRetracted"] == []
    head = chain.w3.eth.block_number
    truth = [e for e in ground_truth(chain) if _block_of(chain, e) <= head - 6]
    assert in_chain_order(seen) == truth


def _block_of(chain: Chain, event_id: str) -> int:
    tx_hash = event_id.split(":")[1]
    return chain.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]


def test_a_reorg_deeper_than_the_window_stops_ingest_with_the_block_named(
    chain: Chain, kafka_bootstrap: str
) -> None:
    ingest = open_ingest(settings(chain, kafka_bootstrap, window_blocks=3))
    _join_burst(chain, 6)
    run_to_head(ingest)
    chain.rpc("anvil_reorg", [5, []])
    _join_burst(chain, 1, offset=100)
    with pytest.raises(ReorgTooDeepError, match="forked below block"):
        run_to_head(ingest)


def test_an_unknown_event_of_a_watched_contract_goes_to_the_dlq_and_ingest_goes_on(
    chain: Chain, kafka_bootstrap: str
) -> None:
    record = json.loads(chain.deployment_file.read_text())
    manager = record["contracts"]["TaskManager"]["address"]
    ingest = open_ingest(settings(chain, kafka_bootstrap))
    run_to_head(ingest)
    # Replace TaskManager's code by one that emits a log no ABI knows: LOG1(topic 0xdead..).
    unknown = "dead" * 16
    chain.rpc("anvil_setCode", [manager, f"0x7f{unknown}60006000a100"])
    sender = devnet_account(Role.APP)
    receipt = chain.w3.eth.wait_for_transaction_receipt(
        chain.w3.eth.send_transaction({"from": sender.address, "to": manager, "gas": 100_000}),
        poll_latency=0.01,
    )
    _join_burst(chain, 1)  # NodeRegistry goes on working (and calls the replaced code again)
    run_to_head(ingest)

    letters = [
        Codec().decode(v, expect="DeadLetter")[1]
        for v in (
            m.value for m in committed_messages(kafka_bootstrap, (CHAIN_CONTRACT_EVENTS.dlq.name,))
        )
    ]
    ours = [d for d in letters if d["source_topic"] == f"chain:{chain.chain_id}"]
    assert ours
    assert ours[0]["source_offset"] == receipt["blockNumber"]
    assert json.loads(ours[0]["value"])["topics"] == [f"0x{unknown}"]
    assert all("matches no known event" in d["reason"] for d in ours)
    assert "NodeJoined" in [s.name for s in published(kafka_bootstrap, chain.chain_id)]


def _spawn_ingest(
    chain: Chain, kafka_bootstrap: str, log: Path, range_blocks: int = 2_000
) -> subprocess.Popen:
    env = {
        **os.environ,
        "HYDROGEN_INGEST_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HYDROGEN_INGEST_RPC_URL": chain.rpc_url,
        "HYDROGEN_INGEST_DEPLOYMENT_FILE": str(chain.deployment_file),
        "HYDROGEN_INGEST_RANGE_BLOCKS": str(range_blocks),
        "HYDROGEN_INGEST_POLL_SECONDS": "0.02",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hydrogen", "bridge", "ingest"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_kill_9_in_a_burst_loses_nothing_and_duplicates_nothing(
    chain: Chain, kafka_bootstrap: str, tmp_path: Path
) -> None:
    _join_burst(chain, 150)  # a backlog of 300 logs in 150 blocks, one transaction each

    def cursor_block() -> int:
        cursor = read_cursor(kafka_bootstrap, chain.chain_id, 64)
        return cursor.next_block if cursor else 0

    head = chain.w3.eth.block_number
    log = tmp_path / "ingest.log"
    kills = 0
    for extra in (0.0, 0.1, 0.05, 0.2):
        before = cursor_block()
        if before > head:
            break  # caught up: no work left to die in
        proc = _spawn_ingest(chain, kafka_bootstrap, log, range_blocks=1)
        # Kill each run once it has committed something, a moment into its work.
        deadline = time.monotonic() + 60
        while cursor_block() <= before:
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        time.sleep(extra)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
    partial = len(published(kafka_bootstrap, chain.chain_id))
    _join_burst(chain, 20, 1_000)  # and more after the crashes

    proc = _spawn_ingest(chain, kafka_bootstrap, log)
    try:
        truth = ground_truth(chain)
        deadline = time.monotonic() + 90
        while True:
            seen = published(kafka_bootstrap, chain.chain_id)
            if len(seen) >= len(truth) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)

    assert kills >= 2
    assert 0 < partial < len(truth)  # the killed runs got somewhere, and not to the end
    assert proc.returncode == 0, log.read_text()[-2000:]
    ids = [s.record["event_id"] for s in seen]
    assert len(truth) >= 340  # 170 joins of 2 logs each, and the deployment's own
    assert sorted(ids) == sorted(truth)  # nothing missing, nothing twice
    position = {event_id: i for i, event_id in enumerate(truth)}
    by_key: dict[str, list[str]] = {}
    for s in seen:
        by_key.setdefault(s.key, []).append(s.record["event_id"])
    for in_topic in by_key.values():
        assert in_topic == sorted(in_topic, key=position.__getitem__)
