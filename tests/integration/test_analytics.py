"""Analytics against real Postgres and Kafka: the SQL views, `events export`, `events tail`.

The history is known to the millisecond: five tasks and four nodes on one chain, written as
the chain ingest writes its records and projected by the projector's own batch function into
a scratch database migrated from scratch. Each view is then checked row by row against what
that history must give, and the exports are read back with pyarrow.

The tail reads the session's `tasks.history` topic, where these tests write records of task
ids no other test uses (and one message that is not Avro at all).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from confluent_kafka import Producer
from psycopg.rows import dict_row

from hydrogen.analytics.columns import TASK_HISTORY_COLUMNS
from hydrogen.analytics.export_file import file_schema
from hydrogen.cli import cli
from hydrogen.db.migrate import migrate
from hydrogen.devnet.supervisor import Devnet
from relay_api.partitioning import partition_of
from schemas.catalog import CHAIN_NODE_EVENTS, CHAIN_TASK_EVENTS, PARTITIONER, TASKS_HISTORY
from schemas.codec import Codec
from streams.projection import Message
from streams.projector import project_batch
from streams.projector_store import ProjectionStore

CHAIN_ID = 31337
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
A = "0x1111111111111111111111111111111111111111"
B = "0x2222222222222222222222222222222222222222"
C = "0x3333333333333333333333333333333333333333"
D = "0x4444444444444444444444444444444444444444"
X = "0x9999999999999999999999999999999999999999"  # creator of tasks 1, 2, 3 and 5
Y = "0x8888888888888888888888888888888888888888"  # creator of task 4
FEE = 3 * 10**15
STAKE = 10**18
FINE = 10**16
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CLI = (sys.executable, "-m", "hydrogen")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class ChainLog:
    """Chain records in chain order, encoded as the chain ingest publishes them: each `tx`
    is a block of its own at a given time, each record the next log of that block."""

    def __init__(self) -> None:
        self.codec = Codec()
        self.block = 1_000
        self.log_index = 0
        self.time = T0
        self.messages: list[Message] = []
        self._offsets: Counter[str] = Counter()
        self.event_ids: dict[tuple[str, str], str] = {}  # (record name, subject) -> event id

    def tx(self, when: datetime) -> ChainLog:
        self.block += 1
        self.log_index = 0
        self.time = when
        return self

    def _emit(self, topic: str, key: str, name: str, fields: dict[str, Any]) -> None:
        tx_hash = f"0x{self.block:060x}0001"  # one transaction per block
        record = {
            "event_id": f"{CHAIN_ID}:{tx_hash}:{self.log_index}",
            "chain_id": CHAIN_ID,
            "contract": CONTRACT,
            "block_number": self.block,
            "block_hash": f"0x{self.block:064x}",
            "block_time": int(self.time.timestamp() * 1000),
            "tx_hash": tx_hash,
            "log_index": self.log_index,
            **fields,
        }
        self.event_ids[(name, key)] = record["event_id"]
        self.log_index += 1
        offset = self._offsets[topic]
        self._offsets[topic] += 1
        value = self.codec.encode(name, record)
        self.messages.append(Message(topic, 0, offset, key.encode(), value))

    def task(self, name: str, task_id: str, **fields: Any) -> ChainLog:
        self._emit(CHAIN_TASK_EVENTS.name, task_id, name, {"task_id": task_id, **fields})
        return self

    def node(self, name: str, node: str, **fields: Any) -> ChainLog:
        self._emit(CHAIN_NODE_EVENTS.name, node, name, {"node": node, **fields})
        return self

    # Shorthands for the records a task's life is made of.

    def created(self, task_id: str, creator: str = X, task_type: int = 0) -> ChainLog:
        return self.task(
            "TaskCreated",
            task_id,
            creator=creator,
            task_type=task_type,
            args_hash=bytes(range(32)),
            model_ids=["base:tiny-sd"],
            min_vram=8,
            vram_tier=0,
            fee=str(FEE),
            timeouts={"queue": 600, "commit": 300, "disclose": 120, "upload": 300},
        )

    def queued(self, task_id: str) -> ChainLog:
        return self.task("TaskQueued", task_id, queue_deadline=self._s() + 600)

    def started(self, task_id: str, nodes: list[str]) -> ChainLog:
        for slot, node in enumerate(nodes):
            self.task("NodeSelected", task_id, node=node, slot=slot)
        return self.task(
            "TaskStarted", task_id, nodes=nodes, commit_deadline=self._s() + 300, seed="7"
        )

    def disclosing(self, task_id: str, nodes: list[str]) -> ChainLog:
        return self.task(
            "DisclosureOpened", task_id, nodes=nodes, disclose_deadline=self._s() + 120
        )

    def validated(self, task_id: str, result_node: str, agreeing: list[str]) -> ChainLog:
        return self.task(
            "TaskValidated",
            task_id,
            result_node=result_node,
            result=b"\x01" * 8,
            agreeing_nodes=agreeing,
            upload_deadline=self._s() + 300,
        )

    def completed(self, task_id: str, result_node: str, payouts: dict[str, int]) -> ChainLog:
        return self.task(
            "TaskCompleted",
            task_id,
            result_node=result_node,
            nodes=list(payouts),
            payouts=[str(p) for p in payouts.values()],
        )

    def _s(self) -> int:
        return int(self.time.timestamp())


def known_history() -> ChainLog:
    """Four nodes join; then

    task 1 (SD, X)   queued 10:00:00, started 10:00:30 (A, B, C), disclosing 10:01:30,
                     validated 10:02:00 with C outvoted (slashed), completed 10:02:40
    task 2 (LLM, X)  started at creation 10:10:00 (A, B, D), disclosing 10:10:50,
                     validated 10:11:10, completed 10:11:50
    task 3 (SD, X)   queued 11:05, aborted by timeout 11:15
    task 4 (SD, Y)   queued 11:20, cancelled 11:21
    task 5 (SD, X)   started at creation 11:30 (A, B, D); D misses its commit and is fined
                     at 11:35, disclosing 11:35, validated 11:36, still waiting for upload
    """
    log = ChainLog()
    log.tx(at(-60))
    for n in (A, B, C, D):
        log.node(
            "NodeJoined",
            n,
            gpu_name="NVIDIA H100",
            vram=80,
            tier=2,
            model_ids=["base:tiny-sd"],
            stake=str(STAKE),
        )
        log.node("NodeStatusChanged", n, task_id="0", **{"from": 0, "to": 1})

    log.tx(at(0)).created("1").queued("1")
    log.tx(at(0.5)).started("1", [A, B, C])
    log.tx(at(1.5)).disclosing("1", [A, B, C])
    log.tx(at(1 + 50 / 60)).task("ResultDisclosed", "1", node=A, result=b"\x01" * 8, error_code=0)
    log.tx(at(1 + 55 / 60)).task("ResultDisclosed", "1", node=B, result=b"\x01" * 8, error_code=0)
    log.tx(at(2)).task("ResultDisclosed", "1", node=C, result=b"\x02" * 8, error_code=0)
    log.task("NodePenalized", "1", node=C, fault=0, amount=str(STAKE))
    log.node("NodeSlashed", C, task_id="1", amount=str(STAKE))
    log.node("NodeStatusChanged", C, task_id="1", **{"from": 1, "to": 7})
    log.validated("1", A, [A, B])
    log.tx(at(2 + 40 / 60)).completed("1", A, {A: FEE // 2, B: FEE // 2})

    log.tx(at(10)).created("2", task_type=1).started("2", [A, B, D])
    log.tx(at(10 + 50 / 60)).disclosing("2", [A, B, D])
    log.tx(at(11 + 10 / 60)).validated("2", B, [A, B, D])
    log.tx(at(11 + 50 / 60)).completed("2", B, {A: FEE // 3, B: FEE // 3, D: FEE // 3})

    log.tx(at(65)).created("3").queued("3")
    log.tx(at(75)).task("TaskExpired", "3", phase=1, deadline=int(at(75).timestamp()))
    log.task("TaskAborted", "3", reason=1, refund=str(FEE))

    log.tx(at(80)).created("4", creator=Y).queued("4")
    log.tx(at(81)).task("TaskCancelled", "4", creator=Y, refund=str(FEE))

    log.tx(at(90)).created("5").started("5", [A, B, D])
    log.tx(at(95)).task("TaskExpired", "5", phase=2, deadline=int(at(95).timestamp()))
    log.task("NodePenalized", "5", node=D, fault=1, amount=str(FINE))
    log.node("NodeFined", D, task_id="5", amount=str(FINE), stake_left=str(STAKE - FINE))
    log.node("NodeStatusChanged", D, task_id="5", **{"from": 1, "to": 3})
    log.disclosing("5", [A, B])
    log.tx(at(96)).validated("5", A, [A, B])
    return log


@pytest.fixture(scope="module")
def history_db(pg_dsn: str) -> Iterator[str]:
    """A scratch database, migrated from scratch, holding the projection of known_history."""
    admin_dsn = pg_dsn.rsplit("/", 1)[0] + "/postgres"
    name = f"analytics_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            store = ProjectionStore(conn, Codec())
            with conn.transaction():
                out = project_batch(store, "analytics-test", known_history().messages)
        assert (out.dead, out.skipped) == (0, 0)
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def query(dsn: str, sql: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql).fetchall()


# ---- the views ----


def test_status_changes_are_the_tasks_lifecycles_with_phase_durations(history_db: str) -> None:
    rows = query(
        history_db,
        "SELECT task_id, step, from_status, to_status, abort_reason, changed_at, phase_ms,"
        " since_created_ms FROM analytics.task_status_changes ORDER BY task_id, step",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("1", 1, "None", "Queued", None, at(0), 0, 0),
        ("1", 2, "Queued", "Running", None, at(0.5), 30_000, 30_000),
        ("1", 3, "Running", "Disclosing", None, at(1.5), 60_000, 90_000),
        ("1", 4, "Disclosing", "Validated", None, at(2), 30_000, 120_000),
        ("1", 5, "Validated", "Completed", None, at(2 + 40 / 60), 40_000, 160_000),
        ("2", 1, "None", "Running", None, at(10), 0, 0),
        ("2", 2, "Running", "Disclosing", None, at(10 + 50 / 60), 50_000, 50_000),
        ("2", 3, "Disclosing", "Validated", None, at(11 + 10 / 60), 20_000, 70_000),
        ("2", 4, "Validated", "Completed", None, at(11 + 50 / 60), 40_000, 110_000),
        ("3", 1, "None", "Queued", None, at(65), 0, 0),
        ("3", 2, "Queued", "Aborted", "Timeout", at(75), 600_000, 600_000),
        ("4", 1, "None", "Queued", None, at(80), 0, 0),
        ("4", 2, "Queued", "Cancelled", "CreatorCancelled", at(81), 60_000, 60_000),
        ("5", 1, "None", "Running", None, at(90), 0, 0),
        ("5", 2, "Running", "Disclosing", None, at(95), 300_000, 300_000),
        ("5", 3, "Disclosing", "Validated", None, at(96), 60_000, 360_000),
    ]


def test_tasks_per_hour_counts_tasks_by_creation_hour_and_status(history_db: str) -> None:
    rows = query(
        history_db,
        "SELECT chain_id, hour, status, tasks FROM analytics.tasks_per_hour ORDER BY hour, status",
    )
    assert [tuple(r.values()) for r in rows] == [
        (CHAIN_ID, at(0), "Completed", 2),
        (CHAIN_ID, at(60), "Aborted", 1),
        (CHAIN_ID, at(60), "Cancelled", 1),
        (CHAIN_ID, at(60), "Validated", 1),
    ]


def test_hours_are_cut_in_utc_whatever_the_sessions_time_zone(history_db: str) -> None:
    with psycopg.connect(history_db) as conn:
        conn.execute("SET TimeZone = 'Asia/Kolkata'")  # +05:30: a local hour starts at :30
        hours = conn.execute(
            "SELECT DISTINCT hour FROM analytics.tasks_per_hour ORDER BY hour"
        ).fetchall()
    assert [h for (h,) in hours] == [at(0), at(60)]


def test_phase_latency_gives_nearest_rank_percentiles_per_phase(history_db: str) -> None:
    rows = query(
        history_db,
        "SELECT chain_id, phase, tasks, p50_ms, p95_ms, max_ms FROM analytics.phase_latency"
        " ORDER BY array_position("
        "ARRAY['Queued', 'Running', 'Disclosing', 'Validated', 'Total'], phase)",
    )
    assert [tuple(r.values()) for r in rows] == [
        (CHAIN_ID, "Queued", 3, 60_000, 600_000, 600_000),  # 30 s, 60 s, 600 s
        (CHAIN_ID, "Running", 3, 60_000, 300_000, 300_000),  # 50 s, 60 s, 300 s
        (CHAIN_ID, "Disclosing", 3, 30_000, 60_000, 60_000),  # 20 s, 30 s, 60 s
        (CHAIN_ID, "Validated", 2, 40_000, 40_000, 40_000),  # task 5 is still uploading
        (CHAIN_ID, "Total", 2, 110_000, 160_000, 160_000),  # completed tasks only
    ]


def test_node_leaderboard_ranks_nodes_by_earnings(history_db: str) -> None:
    rows = query(
        history_db,
        "SELECT rank, node, status, stake, tasks, successes, slashes, timeouts, deliveries,"
        " earned, fined, success_rate FROM analytics.node_leaderboard ORDER BY rank, node",
    )
    assert [tuple(r.values()) for r in rows] == [
        (1, A, "Available", STAKE, 3, 2, 0, 0, 1, FEE // 2 + FEE // 3, 0, Decimal("0.6667")),
        (1, B, "Available", STAKE, 3, 2, 0, 0, 1, FEE // 2 + FEE // 3, 0, Decimal("0.6667")),
        (3, D, "Paused", STAKE - FINE, 2, 1, 0, 1, 0, FEE // 3, FINE, Decimal("0.5000")),
        (4, C, "Slashed", 0, 1, 0, 1, 0, 0, 0, 0, Decimal("0.0000")),
    ]


def test_slashes_lists_each_outvoted_node_with_the_stake_it_lost(history_db: str) -> None:
    history = known_history()
    rows = query(history_db, "SELECT * FROM analytics.slashes")
    assert rows == [
        {
            "chain_id": CHAIN_ID,
            "slashed_at": at(2),
            "task_id": "1",
            "node": C,
            "amount": STAKE,
            "block_number": 1_007,
            "tx_hash": f"0x{1_007:060x}0001",
            "event_id": history.event_ids[("NodePenalized", "1")],
        }
    ]  # task 5's NodePenalized is a fine for a missed commit, not a slash


def test_fees_paid_splits_what_nodes_got_from_what_creators_got_back(history_db: str) -> None:
    rows = query(
        history_db,
        "SELECT chain_id, day, creator, completed_tasks, fees_paid, refunded_tasks, refunded"
        " FROM analytics.fees_paid ORDER BY creator",
    )
    day = datetime(2026, 3, 1, tzinfo=UTC)
    assert [tuple(r.values()) for r in rows] == [
        (CHAIN_ID, day, Y, 0, 0, 1, FEE),
        (CHAIN_ID, day, X, 2, 2 * FEE - FEE % 3, 1, FEE),  # task 2's 3 shares lose FEE % 3
    ]


def test_every_view_says_what_it_answers(history_db: str) -> None:
    rows = query(
        history_db,
        "SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'analytics' AND c.relkind = 'v' ORDER BY 1",
    )
    assert [r["name"] for r in rows] == [
        "fees_paid",
        "node_leaderboard",
        "phase_latency",
        "slashes",
        "task_status_changes",
        "tasks_per_hour",
    ]
    assert all(r["comment"] and len(r["comment"]) > 60 for r in rows), rows


# ---- export ----


def export(*args: str) -> Any:
    return CliRunner().invoke(cli, ["events", "export", *args], catch_exceptions=False)


WINDOW = ("--since", "2026-03-01T10:05:00Z", "--until", "2026-03-01T12:05:00+01:00")
HISTORY_IN_WINDOW = [  # 10:05 to 11:05 UTC: task 2's life; task 3 was created at 11:05 exactly
    (at(10), "2", 1, "None", "Running", None, 0, 0),
    (at(10 + 50 / 60), "2", 2, "Running", "Disclosing", None, 50_000, 50_000),
    (at(11 + 10 / 60), "2", 3, "Disclosing", "Validated", None, 20_000, 70_000),
    (at(11 + 50 / 60), "2", 4, "Validated", "Completed", None, 40_000, 110_000),
]


def _history_tuples(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("changed_at", "task_id", "step", "from_status", "to_status", "abort_reason")
    return [(*(r[k] for k in keys), r["phase_ms"], r["since_created_ms"]) for r in rows]


def test_export_writes_the_task_history_in_the_window_as_parquet(
    history_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "history.parquet"
    result = export(*WINDOW, "--format", "parquet", "--output", str(out), "--dsn", history_db)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote 4 rows of task-history to {out}"
    table = pq.read_table(out)
    assert table.schema == file_schema(TASK_HISTORY_COLUMNS, "parquet")
    rows = table.to_pylist()
    assert _history_tuples(rows) == HISTORY_IN_WINDOW
    assert {(r["chain_id"], r["task_type"], r["creator"], r["fee"]) for r in rows} == {
        (CHAIN_ID, "LLM", X, Decimal(FEE))
    }
    assert rows[0]["model_ids"] == ["base:tiny-sd"]


def test_export_writes_the_same_history_as_csv(history_db: str, tmp_path: Path) -> None:
    out = tmp_path / "history.csv"
    result = export(*WINDOW, "--format", "csv", "--output", str(out), "--dsn", history_db)
    assert result.exit_code == 0, result.output
    table = pa_csv.read_csv(
        out,
        convert_options=pa_csv.ConvertOptions(
            column_types=file_schema(TASK_HISTORY_COLUMNS, "csv"),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    rows = table.to_pylist()
    assert _history_tuples(rows) == HISTORY_IN_WINDOW
    assert rows[0]["fee"] == Decimal(FEE)
    assert json.loads(rows[0]["model_ids"]) == ["base:tiny-sd"]


def test_export_of_task_events_types_each_records_fields(history_db: str, tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    result = export(
        "--since", "2026-03-01T10:00", "--until", "2026-03-01T10:03",
        "--what", "task-events", "--format", "parquet", "--output", str(out), "--dsn", history_db,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert [r["record_name"] for r in rows] == [
        "TaskCreated", "TaskQueued",
        "NodeSelected", "NodeSelected", "NodeSelected", "TaskStarted",
        "DisclosureOpened", "ResultDisclosed", "ResultDisclosed",
        "ResultDisclosed", "NodePenalized", "TaskValidated",
        "TaskCompleted",
    ]  # fmt: skip
    assert {r["task_id"] for r in rows} == {"1"}
    created, queued, penalized, completed = rows[0], rows[1], rows[10], rows[12]
    assert (created["block_time"], created["task_type"], created["fee"]) == (at(0), "SD", FEE)
    assert created["timeouts_commit_s"] == 300
    assert created["args_hash"] == "0x" + bytes(range(32)).hex()
    assert queued["queue_deadline"] == at(10)
    assert (penalized["node"], penalized["fault"], penalized["amount"]) == (C, "Outvoted", STAKE)
    assert completed["payouts"] == [Decimal(FEE // 2)] * 2
    assert completed["nodes"] == [A, B]
    assert completed["fee"] is None  # a column of another record


def test_export_of_node_events_names_statuses_and_amounts(history_db: str, tmp_path: Path) -> None:
    out = tmp_path / "nodes.csv"
    result = export(
        "--since", "2026-03-01T09:00Z", "--until", "2026-03-01T12:00Z", "--what", "node-events",
        "--format", "csv", "--output", str(out), "--dsn", history_db,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote 12 rows of node-events to {out}"
    rows = pa_csv.read_csv(out).to_pylist()
    changes = [
        (r["node"], r["from_status"], r["to_status"])
        for r in rows
        if r["record_name"] == "NodeStatusChanged"
    ]
    assert changes[-2:] == [(C, "Available", "Slashed"), (D, "Available", "Paused")]
    (fined,) = [r for r in rows if r["record_name"] == "NodeFined"]
    assert (fined["node"], fined["amount"], fined["stake_left"]) == (D, FINE, STAKE - FINE)


def test_an_age_reaches_back_from_now_and_an_empty_window_writes_an_empty_file(
    history_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "recent.parquet"
    result = export(
        "--since", "1h", "--format", "parquet", "--output", str(out), "--dsn", history_db
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote 0 rows of task-history")
    assert pq.read_table(out).num_rows == 0


def test_export_from_a_database_without_the_projection_says_to_migrate(
    pg_dsn: str, tmp_path: Path
) -> None:
    admin_dsn = pg_dsn.rsplit("/", 1)[0] + "/postgres"
    out = tmp_path / "x.csv"
    result = export(
        "--since", "7d", "--format", "csv", "--output", str(out), "--dsn", admin_dsn
    )  # fmt: skip
    assert result.exit_code == 1
    assert "hydrogen db migrate" in result.output
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


# ---- tail ----


@dataclass(frozen=True)
class TailTopic:
    bootstrap: str
    task_id: str  # the task whose records the test wrote
    other_task_id: str  # a task on the same partition, whose record must be filtered out


def _produce(bootstrap: str, messages: list[tuple[str, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": PARTITIONER})
    for key, value in messages:
        producer.produce(TASKS_HISTORY.name, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def status_change(task_id: str, to_status: str, version: int) -> bytes:
    return Codec().encode(
        "TaskStatusChanged",
        {
            "event_id": f"{task_id}:{version}",
            "task_id": task_id,
            "chain_id": CHAIN_ID,
            "from_status": "None",
            "to_status": to_status,
            "changed_at": int(T0.timestamp() * 1000),
            "phase_ms": 0,
            "since_created_ms": 0,
            "version": version,
        },
    )


def _fresh_task_ids() -> tuple[str, str]:
    """Two task ids no other test uses, held on the same partition of tasks.history."""
    first = random.randrange(10**12, 10**13)
    partition = partition_of(str(first).encode(), TASKS_HISTORY.partitions)
    other = next(
        n
        for n in range(first + 1, first + 1000)
        if partition_of(str(n).encode(), TASKS_HISTORY.partitions) == partition
    )
    return str(first), str(other)


@pytest.fixture(scope="module")
def tail_topic(kafka_bootstrap: str) -> TailTopic:
    task_id, other = _fresh_task_ids()
    _produce(
        kafka_bootstrap,
        [
            (task_id, status_change(task_id, "Queued", 1)),
            (other, status_change(other, "Queued", 1)),
            (task_id, b"not avro at all"),
            (task_id, status_change(task_id, "Running", 2)),
        ],
    )
    return TailTopic(kafka_bootstrap, task_id, other)


def tail(*args: str) -> Any:
    return CliRunner().invoke(cli, ["events", "tail", *args], catch_exceptions=False)


def test_tail_with_a_limit_shows_the_tasks_records_and_stops(tail_topic: TailTopic) -> None:
    result = tail(
        TASKS_HISTORY.name, "--from-beginning", "--task", tail_topic.task_id, "--limit", "3",
        "--json", "--bootstrap", tail_topic.bootstrap,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["key"], d["record_name"]) for d in lines] == [
        (tail_topic.task_id, "TaskStatusChanged"),
        (tail_topic.task_id, None),
        (tail_topic.task_id, "TaskStatusChanged"),
    ]
    assert [lines[0]["record"]["to_status"], lines[2]["record"]["to_status"]] == [
        "Queued",
        "Running",
    ]
    assert lines[0]["record"]["changed_at"] == T0.isoformat()
    assert lines[0]["partition"] == partition_of(
        tail_topic.task_id.encode(), TASKS_HISTORY.partitions
    )
    assert lines[0]["offset"] < lines[1]["offset"] < lines[2]["offset"]


def test_tail_shows_an_undecodable_message_with_the_reason(tail_topic: TailTopic) -> None:
    result = tail(
        TASKS_HISTORY.name, "--from-beginning", "--task", tail_topic.task_id, "--limit", "2",
        "--bootstrap", tail_topic.bootstrap,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    queued, garbage = result.stdout.splitlines()
    assert " TaskStatusChanged " in queued
    assert "to_status=Queued" in queued
    assert "(undecodable: not an Avro single-object message" in garbage
    assert f"key={tail_topic.task_id}" in garbage
    assert garbage.endswith(f"{len(b'not avro at all')} bytes")


def test_tail_filters_out_other_tasks_on_the_same_partition(tail_topic: TailTopic) -> None:
    result = tail(
        TASKS_HISTORY.name, "--from-beginning", "--task", tail_topic.other_task_id,
        "--limit", "1", "--json", "--bootstrap", tail_topic.bootstrap,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["record"]["task_id"] == tail_topic.other_task_id


def test_tail_finds_kafka_through_the_devnet_folder(tail_topic: TailTopic, devnet: Devnet) -> None:
    result = CliRunner().invoke(
        cli,
        ["events", "tail", TASKS_HISTORY.name, "--from-beginning", "--task", tail_topic.task_id,
         "--limit", "1", "--json", "--dir", str(devnet.layout.root)],
        env={"HYDROGEN_KAFKA_BOOTSTRAP": None},
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["record"]["to_status"] == "Queued"


def test_tail_refuses_a_topic_not_in_the_catalog_naming_the_known_ones(
    kafka_bootstrap: str,
) -> None:
    result = tail("tasks.histroy", "--bootstrap", kafka_bootstrap)
    assert result.exit_code == 2
    assert "no topic 'tasks.histroy' in the catalog" in result.output
    assert "tasks.history" in result.output
    assert "chain.task-events" in result.output


def _start_tail(bootstrap: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*CLI, "events", "tail", TASKS_HISTORY.name, "--bootstrap", bootstrap, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    line = _read_line(proc.stderr, timeout_s=60)  # the tail has its start positions
    assert line.startswith(f"following {TASKS_HISTORY.name} partition"), line
    return proc


def _read_line(stream: Any, timeout_s: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout_s)
    assert ready, f"no line in {timeout_s} s"
    return str(stream.readline())


def test_tail_follows_new_records_until_ctrl_c(kafka_bootstrap: str) -> None:
    task_id, _ = _fresh_task_ids()
    proc = _start_tail(kafka_bootstrap, "--task", task_id, "--json")
    try:
        assert proc.stdout is not None
        _produce(kafka_bootstrap, [(task_id, status_change(task_id, "Queued", 1))])
        first = json.loads(_read_line(proc.stdout, timeout_s=30))
        assert (first["key"], first["record"]["to_status"]) == (task_id, "Queued")
        _produce(kafka_bootstrap, [(task_id, status_change(task_id, "Running", 2))])
        second = json.loads(_read_line(proc.stdout, timeout_s=30))
        assert second["record"]["to_status"] == "Running"
        time.sleep(0.5)
        assert proc.poll() is None  # still following
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_tail_without_filters_follows_every_partition(kafka_bootstrap: str) -> None:
    first = str(random.randrange(10**12, 10**13))
    second = next(  # a task id on another partition than the first's
        str(n)
        for n in range(int(first) + 1, int(first) + 1000)
        if partition_of(str(n).encode(), TASKS_HISTORY.partitions)
        != partition_of(first.encode(), TASKS_HISTORY.partitions)
    )
    proc = _start_tail(kafka_bootstrap, "--limit", "2")
    try:
        assert proc.stdout is not None
        _produce(
            kafka_bootstrap,
            [(first, status_change(first, "Queued", 1)), (second, b"\x00garbage")],
        )
        lines = {_read_line(proc.stdout, timeout_s=30) for _ in range(2)}
        assert proc.wait(timeout=20) == 0  # --limit 2: it stops by itself
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    by_key = {next(w for w in line.split() if w.startswith("key=")): line for line in lines}
    assert set(by_key) == {f"key={first}", f"key={second}"}
    assert " TaskStatusChanged " in by_key[f"key={first}"]
    assert "(undecodable: not an Avro single-object message" in by_key[f"key={second}"]
