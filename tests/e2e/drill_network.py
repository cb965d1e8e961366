"""What the failure drills (test_drills.py) need from a running network devnet: the app's side
of a task, the chain's record of it, the devnet's processes to kill and start, GPU consumers
of chosen operators, and the checks that follow every drill (no duplicate transaction, the
Postgres projection equal to a fresh replay)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from cli_runner import REPO_ROOT
from cli_runner import hydrogen as run_hydrogen
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka_reading import committed_messages
from psycopg.rows import dict_row
from web3 import HTTPProvider, Web3

from hydrogen.devnet import process
from hydrogen.devnet.accounts import Role, devnet_account, node_account
from hydrogen.devnet.layout import Layout
from hydrogen.devnet.supervisor import Devnet
from hydrogen.gas_report import ContractsDriver
from inference.settings import SHARED_GROUP_ID
from relay_api.chain_reader import output_fields
from relay_api.client import RelayClient, RelayClientError, TaskInfo
from schemas.catalog import (
    CHAIN_NODE_EVENTS,
    CHAIN_TASK_EVENTS,
    CHAIN_TX_OUTCOMES,
    CHAIN_TX_REQUESTS,
    INFERENCE_JOBS,
    PARTITIONER,
)
from schemas.codec import Codec
from schemas.task_args import TaskKind, args_hash, model_ids_of, parse_task_args

NODES = 3
FEE_WEI = 10**16
TASK_TIMEOUT_S = 240.0
APPS = ("bridge-ingest", "bridge-submit", "events-project", "streams-worker", "inference", "relay")
PROJECTOR = "postgres-projector"  # the projector's default consumer name (ProjectorSettings)
hydrogen = partial(run_hydrogen, timeout=300)


class TaskStatus(IntEnum):  # contracts/src/HydrogenTypes.sol
    NONE = 0
    QUEUED = 1
    RUNNING = 2
    DISCLOSING = 3
    VALIDATED = 4
    COMPLETED = 5
    ABORTED = 6
    CANCELLED = 7


class AbortReason(IntEnum):
    NONE = 0
    TIMEOUT = 1
    NO_CONSENSUS = 2
    ARGS_INVALID = 3
    UPLOAD_TIMEOUT = 4
    CREATOR_CANCELLED = 5


class NodeStatus(IntEnum):
    NONE = 0
    AVAILABLE = 1
    BUSY = 2
    PAUSED = 3
    PENDING_PAUSE = 4
    PENDING_QUIT = 5
    QUIT = 6
    SLASHED = 7


class Fault(IntEnum):
    OUTVOTED = 0
    MISSED_COMMIT = 1
    MISSED_DISCLOSE = 2
    MISSED_UPLOAD = 3


TERMINAL = (TaskStatus.COMPLETED, TaskStatus.ABORTED, TaskStatus.CANCELLED)


def sd_task_args(seed: int = 7, **extra: Any) -> bytes:
    """The small, fast SD task of test_network_task.py on the tiny SD 1.5 model."""
    return json.dumps(
        {
            "base_model": "tiny-sd15",
            "prompt": "a red fox in the snow",
            "task_config": {
                "image_width": 64,
                "image_height": 64,
                "steps": 2,
                "num_images": 2,
                "seed": seed,
                "cfg": 12,
            },
            **extra,
        }
    ).encode()


@dataclass
class Network:
    root: Path
    w3: Web3
    driver: ContractsDriver
    relay_url: str
    kafka: str
    pg_dsn: str
    inference_settings: dict[str, str]  # the devnet consumer's HYDROGEN_INFERENCE_* variables

    @classmethod
    def open(cls, root: Path) -> Network:
        net = Devnet.open(root)
        deployment = json.loads(net.layout.deployment_file.read_text())
        w3 = Web3(HTTPProvider(deployment["rpcUrl"], request_kwargs={"timeout": 30}))
        consumer = net.named("inference")
        return cls(
            root=root,
            w3=w3,
            driver=ContractsDriver.from_deployment(w3, deployment),
            relay_url=net.relay.address,
            kafka=net.kafka.address,
            pg_dsn=net.postgres.dsn,
            inference_settings=dict(consumer.settings),  # type: ignore[attr-defined]
        )

    @property
    def app(self) -> str:
        return str(devnet_account(Role.APP).address)

    def node(self, n: int) -> str:
        return str(node_account(n).address)

    # ---- the app's side ----

    def create_task(self, raw: bytes) -> int:
        """Create an SD task for `raw` on chain and put `raw` on the relay, as an app does."""
        task_id, _ = self.driver.create_task(
            self.app,
            FEE_WEI,
            args_hash=args_hash(raw),
            model_ids=model_ids_of(parse_task_args(TaskKind.SD, raw)),
        )
        with self.relay() as relay:
            relay.put_args(task_id, raw)
        return int(task_id)

    def relay(self) -> RelayClient:
        return RelayClient(self.relay_url, private_key=devnet_account(Role.APP).key)

    def wait_until_ended(self, task_id: int, timeout_s: float = TASK_TIMEOUT_S) -> dict[str, Any]:
        """The task's chain view once it has ended, and once the relay says so too."""
        deadline = time.monotonic() + timeout_s
        view = self.task(task_id)
        while TaskStatus(view["status"]) not in TERMINAL:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"task {task_id} still {TaskStatus(view['status']).name} after "
                    f"{timeout_s:.0f}s\n{log_tails(self.root)}"
                )
            time.sleep(0.5)
            view = self.task(task_id)
        info = self.relay_status(task_id, deadline)
        assert info.status == TaskStatus(view["status"]).name.capitalize(), info.raw
        return view

    def relay_status(self, task_id: int, deadline: float) -> TaskInfo:
        info: TaskInfo | None = None
        with self.relay() as relay:
            while time.monotonic() < deadline:
                try:
                    info = relay.task(task_id)
                except RelayClientError:  # not seen yet, or the relay restarting
                    info = None
                if info is not None and info.ended:
                    return info
                time.sleep(0.5)
        raise AssertionError(f"the relay never saw task {task_id} end; last {info}")

    # ---- the chain ----

    def task(self, task_id: int) -> dict[str, Any]:
        view = self.driver.manager.functions.getTask(task_id).call()
        return dict(zip(output_fields(self.driver.manager.abi, "getTask"), view, strict=True))

    def node_status(self, n: int) -> NodeStatus:
        return NodeStatus(self.driver.registry.functions.statusOf(self.node(n)).call())

    def events(self, contract: str, name: str, **filters: Any) -> list[dict[str, Any]]:
        """Every `name` event of `contract` ("manager" or "registry") matching the indexed
        `filters` (eth_getLogs), as its arguments."""
        event = getattr(getattr(self.driver, contract).events, name)
        logs = event.get_logs(from_block=0, argument_filters=filters or None)
        return [dict(log["args"]) for log in logs]

    def wait_for_commitments(self, task_id: int, count: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.events("manager", "CommitmentSubmitted", taskId=task_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"task {task_id}: fewer than {count} commitments after {timeout_s:.0f}s\n"
                    f"{log_tails(self.root)}"
                )
            time.sleep(0.2)

    def advance_chain_time(self, seconds: int) -> None:
        self.driver.increase_time(seconds)

    # ---- Kafka ----

    def tx_outcomes(self) -> list[dict[str, Any]]:
        codec = Codec()
        return [
            codec.decode(m.value or b"", expect="TxOutcome")[1]
            for m in committed_messages(self.kafka, (CHAIN_TX_OUTCOMES.name,))
        ]

    def dead_lettered_jobs(self, task_id: int) -> list[str]:
        """The error types of the task's jobs on inference.jobs.dlq."""
        codec = Codec()
        out = []
        for m in committed_messages(self.kafka, (INFERENCE_JOBS.dlq.name,)):
            _, letter = codec.decode(m.value or b"", expect="DeadLetter")
            _, job = codec.decode(letter["value"] or b"", expect="InferenceJob")
            if job["task_id"] == str(task_id):
                out.append(str(letter["error_type"]))
        return out

    def request_tx(self, signer: str, contract: str, function: str, timeout_s: float = 60) -> str:
        """Ask the network's submitter to send `contract.function()` as `signer` (a devnet
        key it holds), as every component does, so that the signer's nonces stay its own.
        Returns the outcome's status once there is one."""
        request_id = f"drills:{uuid.uuid4().hex}:{function}"
        record = {
            "request_id": request_id, "signer": signer, "contract": contract,
            "function": function, "args_json": "[]", "value_wei": "0", "not_after": None,
            "requested_at": int(time.time() * 1000), "origin": "tests.e2e.drills",
        }  # fmt: skip
        producer = Producer({"bootstrap.servers": self.kafka, "partitioner": PARTITIONER})
        value = Codec().encode("TxRequest", record)
        producer.produce(CHAIN_TX_REQUESTS.name, key=signer.encode(), value=value)
        assert producer.flush(10) == 0
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for outcome in self.tx_outcomes():
                if outcome["request_id"] == request_id:
                    return str(outcome["status"])
            time.sleep(0.5)
        raise AssertionError(f"no outcome for {function} of {signer} in {timeout_s:.0f}s")

    def start_group_at_end(self, group: str) -> None:
        """Commit `group`'s offsets at the end of inference.jobs: an operator whose consumers
        join now answers the jobs from now on (a new group would start at the beginning)."""
        consumer = Consumer(
            {"bootstrap.servers": self.kafka, "group.id": group, "enable.auto.commit": False}
        )
        try:
            ends = [
                TopicPartition(
                    INFERENCE_JOBS.name,
                    p,
                    consumer.get_watermark_offsets(
                        TopicPartition(INFERENCE_JOBS.name, p), timeout=10
                    )[1],
                )
                for p in range(INFERENCE_JOBS.partitions)
            ]
            consumer.commit(offsets=ends, asynchronous=False)
        finally:
            consumer.close()

    # ---- processes ----

    def up(self) -> None:
        """`hydrogen devnet up --network`: starts whatever is not running."""
        hydrogen("devnet", "up", "--network", "--nodes", str(NODES), "--dir", str(self.root))

    def kill_9(self, name: str) -> int:
        """SIGKILL the process group of devnet service `name`, as a crash would; its pid."""
        record = process.load(Layout(self.root).pid(name))
        assert record is not None and record.is_running(), f"{name} is not running"
        os.killpg(record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while record.is_running():
            assert time.monotonic() < deadline, f"{name} (pid {record.pid}) survived SIGKILL"
            time.sleep(0.05)
        return record.pid

    def pid(self, name: str) -> int | None:
        record = process.load(Layout(self.root).pid(name))
        return record.pid if record is not None and record.is_running() else None

    @contextmanager
    def consumer(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Iterator[None]:
        """A GPU consumer process beside the devnet's, logging to logs/NAME.log."""
        record = process.spawn(
            name,
            argv,
            Layout(self.root).log(name),
            env={**os.environ, **self.inference_settings, **env},
            cwd=REPO_ROOT,
        )
        try:
            yield
            assert record.is_running(), f"{name} exited\n{tail(Layout(self.root).log(name))}"
        finally:
            process.stop(record)

    @contextmanager
    def operator_consumers(
        self, honest: Sequence[int], cheating: Sequence[int] = ()
    ) -> Iterator[None]:
        """Instead of the devnet's one consumer holding every key: one operator's honest
        consumer for the nodes `honest` (`hydrogen inference run --devnet-node ...`) and, if
        any, another operator's cheating consumer for `cheating`, each in a group of its own.
        The devnet's consumer is back afterwards."""
        d = str(self.root)
        tag = uuid.uuid4().hex[:6]
        hydrogen("devnet", "stop", "inference", "--dir", d)
        honest_group, cheater_group = f"drills-honest-{tag}", f"drills-cheater-{tag}"
        for group in (honest_group, cheater_group):
            self.start_group_at_end(group)
        honest_argv = [sys.executable, "-m", "hydrogen", "-v", "inference", "run",
                       *(a for n in honest for a in ("--devnet-node", str(n))),
                       "--group-id", honest_group, "--only-own-nodes"]  # fmt: skip
        cheater_env = {
            "HYDROGEN_INFERENCE_NODE_KEYS": ",".join(node_account(n).key.hex() for n in cheating),
            "HYDROGEN_INFERENCE_GROUP_ID": cheater_group,
            "HYDROGEN_INFERENCE_ONLY_OWN_NODES": "1",
        }
        cheater_argv = [sys.executable, str(Path(__file__).with_name("cheating_consumer.py"))]
        try:
            with ExitStack() as consumers:
                consumers.enter_context(self.consumer("honest-consumer", honest_argv, {}))
                if cheating:
                    consumers.enter_context(
                        self.consumer("cheating-consumer", cheater_argv, cheater_env)
                    )
                yield
        finally:
            # The jobs of the drill were the other consumers'; the devnet's, back in the
            # shared group, must not run them again.
            self.start_group_at_end(SHARED_GROUP_ID)
            hydrogen("devnet", "start", "inference", "--dir", d)

    # ---- the projection ----

    def projection_matches_replay(self) -> str:
        """Stop the live projector once it has projected everything on the chain topics,
        snapshot its rows, rebuild them with `hydrogen events replay`, compare, and start the
        projector again. Returns the replay's report; raises on any difference."""
        # In-process rather than `hydrogen devnet stop/start` (which drills use elsewhere):
        # this runs after every drill, and each CLI start costs seconds of imports.
        devnet = Devnet.open(self.root)
        for _ in range(3):
            wait_until(self._projected_to_end, 60, "the projector never caught up")
            devnet.stop_one("events-project")
            if self._projected_to_end():  # nothing arrived between the check and the stop
                break
            devnet.start_one("events-project")
        else:
            raise AssertionError("the chain topics kept growing while the projector stopped")
        live = self.projection_rows()
        replay = hydrogen(
            "events", "replay", "--dsn", self.pg_dsn, "--bootstrap", self.kafka, timeout=120
        )
        rebuilt = self.projection_rows()
        devnet.start_one("events-project")
        assert live["tasks"], "nothing was projected"
        for table in live:
            assert_same_rows(table, live[table], rebuilt[table])
        return replay.stdout

    def _projected_to_end(self) -> bool:
        last: dict[tuple[str, int], int] = {}
        for m in committed_messages(self.kafka, (CHAIN_TASK_EVENTS.name, CHAIN_NODE_EVENTS.name)):
            last[(m.topic, m.partition)] = max(last.get((m.topic, m.partition), -1), m.offset)
        with psycopg.connect(self.pg_dsn) as conn:
            stored = {
                (topic, partition): offset
                for topic, partition, offset in conn.execute(
                    "SELECT topic, partition, next_offset FROM projection_offsets"
                    " WHERE consumer = %s",
                    (PROJECTOR,),
                )
            }
        return all(stored.get(tp, 0) > offset for tp, offset in last.items())

    def projection_rows(self) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
        """Every projected row, by primary key; columns that say when a row was written (not
        what it says) are left out."""
        out: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        with psycopg.connect(self.pg_dsn, row_factory=dict_row) as conn:
            for table, (sql, key) in PROJECTION_QUERIES.items():
                rows = conn.execute(sql, {"consumer": PROJECTOR}).fetchall()
                out[table] = {tuple(row[c] for c in key): row for row in rows}
        return out


PROJECTION_QUERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tasks": ("SELECT * FROM tasks", ("chain_id", "task_id")),
    "task_events": ("SELECT * FROM task_events", ("event_id", "block_hash")),
    "nodes": ("SELECT * FROM nodes", ("chain_id", "address")),
    "node_events": ("SELECT * FROM node_events", ("event_id", "block_hash")),
    "projection_dead_letters": (
        "SELECT consumer, topic, partition, kafka_offset, key, value, error_type, reason"
        " FROM projection_dead_letters",
        ("consumer", "topic", "partition", "kafka_offset"),
    ),
    "projection_offsets": (
        "SELECT consumer, topic, partition, next_offset FROM projection_offsets"
        " WHERE consumer = %(consumer)s",
        ("consumer", "topic", "partition"),
    ),
}


def assert_same_rows(
    table: str, live: Mapping[tuple[Any, ...], Any], rebuilt: Mapping[tuple[Any, ...], Any]
) -> None:
    missing = sorted(set(live) - set(rebuilt), key=repr)[:5]
    extra = sorted(set(rebuilt) - set(live), key=repr)[:5]
    changed = [k for k in live if k in rebuilt and live[k] != rebuilt[k]][:3]
    assert not (missing or extra or changed), (
        f"{table}: the replay differs from the live projection: rows only live {missing}, "
        f"only replayed {extra}, changed "
        + "; ".join(f"{k}: {live[k]} -> {rebuilt[k]}" for k in changed)
    )


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def log_tails(root: Path, lines: int = 25) -> str:
    names = [*APPS, "honest-consumer", "cheating-consumer"]
    return "\n".join(
        f"==> {name} <==\n{tail(Layout(root).log(name), lines)}"
        for name in names
        if Layout(root).log(name).exists()
    )
