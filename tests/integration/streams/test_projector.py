"""The Postgres projector against real Kafka and Postgres.

The event stream is real: a throwaway chain (anvil with a unique chain id and freshly deployed
contracts) runs a whole task lifecycle and the chain ingest publishes it. Larger streams are
copies of it under other chain ids. Each test projects into a scratch database of its own,
migrated from scratch, so tests never share rows; the topics are the session's, so assertions
are scoped to the test's chain ids.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer
from kafka_reading import committed_messages

from chain_bridge.ingest import open_ingest
from chain_bridge.ingest_settings import IngestSettings
from hydrogen.db.migrate import migrate
from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.anvil import throwaway_deployment
from hydrogen.gas_report import FEE_WEI, ContractsDriver, lifecycle_gas
from schemas.catalog import CHAIN_NODE_EVENTS, CHAIN_TASK_EVENTS, PARTITIONER
from schemas.codec import Codec
from schemas.errors import DecodeError
from streams.domain.events import RECORD_NAMES
from streams.projector import Projector, open_projector
from streams.projector_settings import ProjectorSettings

_chain_ids = itertools.count(int(uuid.uuid4().int % 1_000_000) * 1_000 + 7_000_000)
CLI = (sys.executable, "-m", "hydrogen")
TABLES = {
    "tasks": "chain_id, task_id",
    "task_events": "event_id, block_hash",
    "nodes": "chain_id, address",
    "node_events": "event_id, block_hash",
}


@dataclass(frozen=True)
class Sent:
    topic: str
    key: bytes
    name: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Lifecycle:
    chain_id: int
    events: list[Sent]  # in the order they were published


@pytest.fixture(scope="module")
def lifecycle(kafka_bootstrap: str) -> Lifecycle:
    """A whole task lifecycle (lifecycle_gas) on a chain of its own, ingested into Kafka."""
    chain_id = next(_chain_ids)
    with throwaway_deployment(chain_id) as chain:
        w3, record, anvil = chain.w3, chain.record, chain.anvil
        deployment_file = chain.deployment_file
        lifecycle_gas(ContractsDriver.from_deployment(w3, record))
        ingest = open_ingest(
            IngestSettings(
                kafka_bootstrap=kafka_bootstrap,
                rpc_url=anvil.address,
                deployment_file=deployment_file,
            )
        )
        for _ in range(1_000):
            if ingest.step() == 0 and ingest.caught_up():
                break
        ingest.close()
    return Lifecycle(chain_id, read_back(kafka_bootstrap, chain_id))


def read_back(bootstrap: str, chain_id: int) -> list[Sent]:
    """Every committed chain event of `chain_id` on the two topics, in offset order."""
    codec = Codec()
    out = []
    for m in committed_messages(bootstrap, (CHAIN_TASK_EVENTS.name, CHAIN_NODE_EVENTS.name)):
        try:
            name, record = codec.decode(m.value or b"")
        except DecodeError:
            continue  # another test's deliberate garbage on the shared topic
        if record.get("chain_id") == chain_id:
            out.append(Sent(m.topic, m.key, name, record))
    return out


@pytest.fixture
def scratch_db(pg_dsn: str) -> Iterator[Callable[[], str]]:
    """Makes migrated scratch databases, dropped at the end of the test."""
    admin_dsn = pg_dsn.rsplit("/", 1)[0] + "/postgres"
    made: list[str] = []

    def make() -> str:
        name = f"projector_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        dsn = pg_dsn.rsplit("/", 1)[0] + f"/{name}"
        migrate(dsn)
        return dsn

    yield make
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class _projector:
    def __init__(self, dsn: str, bootstrap: str, batch_size: int = 200) -> None:
        self.projector = open_projector(
            ProjectorSettings(
                kafka_bootstrap=bootstrap, pg_dsn=dsn, batch_size=batch_size, poll_timeout=0.2
            )
        )

    def __enter__(self) -> Projector:
        return self.projector

    def __exit__(self, *exc: object) -> None:
        self.projector.close()


def project_to_end(dsn: str, bootstrap: str) -> None:
    """Run the projector from its stored positions to the topics' current end."""
    with _projector(dsn, bootstrap) as projector:
        ends = projector.ends()
        projector.assign()
        deadline = time.monotonic() + 60
        while not projector.caught_up(ends):
            assert time.monotonic() < deadline, f"never caught up with {ends}"
            projector.step()


def rows(dsn: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            f"SELECT * FROM {table} ORDER BY {TABLES.get(table, '1, 2, 3, 4')}"
        ).fetchall()


def one(dsn: str, sql: str, *args: object) -> dict[str, Any]:
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None, sql
    return row


def produce(bootstrap: str, sent: list[tuple[str, bytes, bytes]]) -> list[int]:
    """Produce (topic, key, value) messages in order; their offsets."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "partitioner": PARTITIONER, "enable.idempotence": True}
    )
    offsets: list[int] = [0] * len(sent)

    def delivered(i: int) -> Callable[[Any, Any], None]:
        def callback(err: Any, msg: Any) -> None:
            assert err is None, err
            offsets[i] = msg.offset()

        return callback

    for i, (topic, key, value) in enumerate(sent):
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered(i))
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(30) == 0
    return offsets


def cloned(lifecycle: Lifecycle, chain_id: int) -> list[tuple[str, bytes, bytes]]:
    """The lifecycle's messages as if they had happened on chain `chain_id`."""
    codec = Codec()
    out = []
    for s in lifecycle.events:
        record = {
            **s.record,
            "chain_id": chain_id,
            "event_id": f"{chain_id}:{s.record['event_id'].split(':', 1)[1]}",
        }
        out.append((s.topic, s.key, codec.encode(s.name, record)))
    return out


# ---- (1) a whole lifecycle ----


def test_a_task_lifecycle_projects_to_its_task_and_node_rows(
    lifecycle: Lifecycle, kafka_bootstrap: str, scratch_db: Callable[[], str]
) -> None:
    dsn = scratch_db()
    project_to_end(dsn, kafka_bootstrap)
    chain = lifecycle.chain_id

    done = one(dsn, "SELECT * FROM tasks WHERE chain_id = %s AND task_id = '1'", chain)
    assert done["status"] == "Completed"
    assert done["task_type"] == "SD"
    assert done["model_ids"] == ["base:sd15"]
    assert done["fee"] == FEE_WEI
    assert len(done["selected_nodes"]) == 3
    assert done["result_node"] in done["selected_nodes"]
    assert all(p > 0 for p in done["payouts"])
    assert sum(done["payouts"]) <= FEE_WEI
    stamps = ["created_at", "started_at", "disclosing_at", "validated_at", "ended_at"]
    assert [done[s] for s in stamps] == sorted(done[s] for s in stamps)
    assert done["deadline"] is None

    cancelled = one(dsn, "SELECT * FROM tasks WHERE chain_id = %s AND task_id = '2'", chain)
    assert (cancelled["status"], cancelled["abort_reason"]) == ("Cancelled", "CreatorCancelled")
    assert cancelled["refund"] == FEE_WEI
    expired = one(dsn, "SELECT * FROM tasks WHERE chain_id = %s AND task_id = '3'", chain)
    assert (expired["status"], expired["abort_reason"]) == ("Aborted", "Timeout")

    task_events = [
        s for s in lifecycle.events if s.topic == CHAIN_TASK_EVENTS.name and s.name in RECORD_NAMES
    ]
    stored = one(dsn, "SELECT count(*) AS n FROM task_events WHERE chain_id = %s", chain)
    assert stored["n"] == len(task_events)
    assert done["version"] == sum(1 for s in task_events if s.key == b"1")

    for node, paid in zip(done["selected_nodes"], done["payouts"], strict=True):
        row = one(dsn, "SELECT * FROM nodes WHERE chain_id = %s AND address = %s", chain, node)
        assert row["successes"] == 1
        assert row["earned"] == paid
        assert row["gpu_name"] == "NVIDIA H100"
        # Every node of task 3 missed its commit deadline.
        assert row["timeouts"] == (1 if node in expired["selected_nodes"] else 0)
        assert row["tasks"] == 1 + (node in expired["selected_nodes"])
    quitter = devnet_account(Role.FIRST_NODE + 1).address
    assert one(
        dsn, "SELECT status FROM nodes WHERE chain_id = %s AND address = %s", chain, quitter
    )["status"] in ("Quit", "PendingQuit")


# ---- (2) replays and restarts are no-ops ----


def _snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows(dsn, t) for t in TABLES} | {
        "dead": rows(dsn, "projection_dead_letters"),
        "offsets": [r[:4] for r in rows(dsn, "projection_offsets")],
    }


def test_projecting_the_same_events_again_changes_nothing(
    lifecycle: Lifecycle, kafka_bootstrap: str, scratch_db: Callable[[], str]
) -> None:
    dsn = scratch_db()
    project_to_end(dsn, kafka_bootstrap)
    first = _snapshot(dsn)
    assert first["tasks"]

    project_to_end(dsn, kafka_bootstrap)  # a restart: resumes at the stored positions
    assert _snapshot(dsn) == first

    # Even every message delivered again from offset 0 over the existing rows is dropped.
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM projection_offsets")
    project_to_end(dsn, kafka_bootstrap)
    assert _snapshot(dsn) == first


# ---- (4) a retraction ----


def test_a_retraction_marks_its_event_and_folds_the_task_again(
    lifecycle: Lifecycle, kafka_bootstrap: str, scratch_db: Callable[[], str]
) -> None:
    chain = next(_chain_ids)
    messages = cloned(lifecycle, chain)
    produce(kafka_bootstrap, messages)
    completed = next(
        s.record for s in lifecycle.events if s.name == "TaskCompleted" and s.key == b"1"
    )
    event_id = f"{chain}:{completed['event_id'].split(':', 1)[1]}"
    retraction = Codec().encode(
        "LogRetracted",
        {
            "event_id": event_id,
            "record": "TaskCompleted",
            "chain_id": chain,
            "block_number": completed["block_number"],
            "block_hash": completed["block_hash"],
            "fork_block_number": completed["block_number"] - 1,
            "detected_at": 1_700_000_000_000,
        },
    )
    dsn = scratch_db()
    project_to_end(dsn, kafka_bootstrap)
    before = one(dsn, "SELECT * FROM tasks WHERE chain_id = %s AND task_id = '1'", chain)
    assert before["status"] == "Completed"

    produce(kafka_bootstrap, [(CHAIN_TASK_EVENTS.name, b"1", retraction)])
    project_to_end(dsn, kafka_bootstrap)

    after = one(dsn, "SELECT * FROM tasks WHERE chain_id = %s AND task_id = '1'", chain)
    assert after["status"] == "Validated"
    assert after["ended_at"] is None
    assert after["payouts"] == []
    assert after["version"] == before["version"] + 1
    marked = one(dsn, "SELECT * FROM task_events WHERE event_id = %s", event_id)
    assert marked["retracted"] is True
    assert marked["retracted_at"].timestamp() == 1_700_000_000
    for node in before["selected_nodes"]:
        row = one(dsn, "SELECT * FROM nodes WHERE chain_id = %s AND address = %s", chain, node)
        assert (row["successes"], row["earned"]) == (0, 0)


# ---- (5) a bad message ----


def test_an_undecodable_message_becomes_a_dead_letter_with_its_reason_and_is_passed(
    kafka_bootstrap: str, scratch_db: Callable[[], str]
) -> None:
    key = f"bad-{uuid.uuid4().hex[:8]}".encode()
    (offset,) = produce(kafka_bootstrap, [(CHAIN_TASK_EVENTS.name, key, b"not avro at all")])
    dsn = scratch_db()
    project_to_end(dsn, kafka_bootstrap)

    letter = one(dsn, "SELECT * FROM projection_dead_letters WHERE key = %s", key)
    assert letter["kafka_offset"] == offset
    assert letter["value"] == b"not avro at all"
    assert letter["error_type"] == "DecodeError"
    assert "not an Avro single-object message" in letter["reason"]
    position = one(
        dsn,
        "SELECT next_offset FROM projection_offsets WHERE topic = %s AND partition = %s",
        CHAIN_TASK_EVENTS.name,
        letter["partition"],
    )
    assert position["next_offset"] > offset


# ---- (3) kill -9 and restart ----


def _spawn(dsn: str, bootstrap: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HYDROGEN_PROJECTOR_KAFKA_BOOTSTRAP": bootstrap,
        "HYDROGEN_PROJECTOR_PG_DSN": dsn,
        "HYDROGEN_PROJECTOR_BATCH_SIZE": "40",
        "HYDROGEN_PROJECTOR_POLL_TIMEOUT": "0.2",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [*CLI, "events", "project"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _tasks_of(dsn: str, chains: list[int]) -> int:
    return int(one(dsn, "SELECT count(*) AS n FROM tasks WHERE chain_id = ANY(%s)", chains)["n"])


def test_kill_9_mid_stream_then_restart_equals_a_fresh_replay(
    lifecycle: Lifecycle, kafka_bootstrap: str, scratch_db: Callable[[], str], tmp_path: Path
) -> None:
    copies = [next(_chain_ids) for _ in range(100)]
    stream = [m for chain in copies for m in cloned(lifecycle, chain)]
    assert len(stream) > 5_000
    produce(kafka_bootstrap, stream)
    live, fresh = scratch_db(), scratch_db()
    log = tmp_path / "projector.log"

    proc = _spawn(live, kafka_bootstrap, log)
    deadline = time.monotonic() + 60
    while _tasks_of(live, copies) == 0:  # kill it once it is into our stream
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    partial = _tasks_of(live, copies)
    assert 0 < partial < 3 * len(copies)  # killed mid-stream

    proc = _spawn(live, kafka_bootstrap, log)
    try:
        replayed = subprocess.run(
            [*CLI, "events", "replay", "--dsn", fresh, "--bootstrap", kafka_bootstrap],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert "replayed" in replayed.stdout
        assert one(fresh, "SELECT count(*) AS n FROM tasks")["n"] >= 3 * len(copies)
        want = {t: rows(fresh, t) for t in TABLES}
        deadline = time.monotonic() + 60
        while (got := {t: rows(live, t) for t in TABLES}) != want:
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0, log.read_text()[-2000:]
    assert got == want
    completed = one(
        live,
        "SELECT count(*) AS n FROM tasks WHERE chain_id = ANY(%s) AND status = 'Completed'",
        copies,
    )
    assert completed["n"] == len(copies)
