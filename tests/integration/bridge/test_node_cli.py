"""`hydrogen node …` as an operator runs it, against the tests' shared devnet and a real
`hydrogen bridge submit` process.

The submitter holds the devnet mnemonic's keys and, in a keystore, fresh funded accounts
that no other test knows; it reads topics of this module's own (named like the catalog's,
with a suffix), so no other test's requests or outcomes mix with ours, and ours never reach
another submitter.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from eth_account import Account
from web3 import Web3

from hydrogen.db.migrate import migrate
from hydrogen.devnet.accounts import node_account
from hydrogen.devnet.supervisor import Devnet
from hydrogen.topics import ensure_topics
from schemas.catalog import CHAIN_TX_JOURNAL, CHAIN_TX_OUTCOMES, CHAIN_TX_REQUESTS

REPO_ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "node cli test keys"
ETH = 10**18
STRANGER_INDEX = 15  # the last devnet node: no test joins it


@dataclasses.dataclass(frozen=True)
class Topics:
    requests: str
    outcomes: str
    journal: str
    dlq: str


@pytest.fixture(scope="module")
def topics(kafka_bootstrap: str) -> Topics:
    suffix = f"node-cli-{uuid.uuid4().hex[:8]}"
    wanted = [
        dataclasses.replace(t, name=f"{t.name}.{suffix}")
        for t in (CHAIN_TX_REQUESTS, CHAIN_TX_OUTCOMES, CHAIN_TX_JOURNAL, CHAIN_TX_REQUESTS.dlq)
    ]
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), wanted)
    return Topics(*(t.name for t in wanted))


@pytest.fixture(scope="module")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-cli-keys")


@pytest.fixture(scope="module")
def operators(w3: Web3, keystore: Path) -> list[str]:
    """Fresh accounts with 1000 ETH each, whose keys only this module's submitter holds."""
    addresses = []
    for _ in range(2):
        account = Account.create()
        keyfile = Account.encrypt(account.key, PASSWORD, kdf="pbkdf2", iterations=1000)
        (keystore / f"{account.address}.json").write_text(json.dumps(keyfile))
        w3.provider.make_request("anvil_setBalance", [account.address, hex(1000 * ETH)])
        addresses.append(account.address)
    return addresses


@pytest.fixture(scope="module")
def submitter(
    devnet: Devnet,
    topics: Topics,
    keystore: Path,
    operators: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """`hydrogen bridge submit --devnet-keys` plus the keystore; yields its log file."""
    log = tmp_path_factory.mktemp("node-cli-submit") / "submit.log"
    env = {
        **os.environ,
        "HYDROGEN_SUBMIT_KAFKA_BOOTSTRAP": devnet.kafka.address,
        "HYDROGEN_SUBMIT_RPC_URL": devnet.anvil.address,
        "HYDROGEN_SUBMIT_DEPLOYMENT_FILE": str(devnet.layout.deployment_file),
        "HYDROGEN_SUBMIT_GROUP_ID": f"node-cli-test-{uuid.uuid4().hex[:8]}",
        "HYDROGEN_SUBMIT_INSTANCE_ID": "submit-0",
        "HYDROGEN_SUBMIT_SESSION_TIMEOUT_MS": "6000",
        "HYDROGEN_SUBMIT_HEARTBEAT_INTERVAL_MS": "500",
        "HYDROGEN_SUBMIT_REQUESTS_TOPIC": topics.requests,
        "HYDROGEN_SUBMIT_OUTCOMES_TOPIC": topics.outcomes,
        "HYDROGEN_SUBMIT_JOURNAL_TOPIC": topics.journal,
        "HYDROGEN_SUBMIT_DLQ_TOPIC": topics.dlq,
        "HYDROGEN_SUBMIT_KEYSTORE_DIR": str(keystore),
        "HYDROGEN_SUBMIT_KEYSTORE_PASSWORD": PASSWORD,
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hydrogen", "-v", "bridge", "submit", "--devnet-keys"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while "assigned partitions" not in log.read_text(errors="replace"):
            assert proc.poll() is None, f"the submitter exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the submitter never started:\n{log.read_text()}"
            time.sleep(0.1)
        yield log
    finally:
        proc.terminate()
        proc.wait(30)


def hydrogen_node(
    devnet: Devnet, topics: Topics, *args: str, timeout_s: int = 60
) -> subprocess.CompletedProcess[str]:
    """`hydrogen node ARGS` on the shared test devnet; the topics only for the sending commands."""
    command = args[0]
    extra = ["--dir", str(devnet.layout.root)]
    if command != "status":
        extra += [
            "--requests-topic",
            topics.requests,
            "--outcomes-topic",
            topics.outcomes,
            "--timeout",
            str(timeout_s),
        ]
    return subprocess.run(
        [sys.executable, "-m", "hydrogen", "node", *args, *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s + 60,
        check=False,
    )


def status_json(devnet: Devnet, topics: Topics, node: str, *extra: str) -> dict[str, Any]:
    done = hydrogen_node(devnet, topics, "status", "--node", node, "--json", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def requests_published(kafka_bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "unused"})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(CHAIN_TX_REQUESTS.partitions)
        )
    finally:
        consumer.close()


def registry(w3: Web3, deployment: dict) -> Any:
    entry = deployment["contracts"]["NodeRegistry"]
    return w3.eth.contract(address=entry["address"], abi=entry["abi"])


def mined_tx(output: str) -> str:
    """The tx hash a MINED result prints."""
    [line] = [line for line in output.splitlines() if line.startswith("tx 0x")]
    return line.split()[1]


# ---- behaviours ----


def test_a_node_joins_pauses_resumes_and_quits_through_the_submitter(
    submitter: Path, devnet: Devnet, topics: Topics, operators: list[str], w3: Web3
) -> None:
    node = operators[0]
    joined = hydrogen_node(
        devnet,
        topics,
        "join",
        "--node",
        node,
        "--stake",
        "450eth",
        "--gpu-name",
        "RTX 4090",
        "--vram",
        "24",
        "--model",
        "base:tiny-sd15",
        "--model",
        "llm:tiny-gpt2",
    )
    assert joined.returncode == 0, joined.stdout + joined.stderr
    assert f"join {node}: MINED in block" in joined.stdout
    receipt = w3.eth.get_transaction_receipt(mined_tx(joined.stdout))
    assert (receipt["status"], receipt["from"]) == (1, node)
    assert f"request id cli:31337:{node}:join:" in joined.stderr  # before the wait

    after_join = status_json(devnet, topics, node)
    assert after_join["chain"] | {"source": None} == {
        "source": None,
        "status": "Available",
        "stake_wei": str(450 * ETH),
        "gpu_name": "RTX 4090",
        "vram_gb": 24,
        "tier": 3,  # floors 8, 12, 16, 24, ...
        "model_ids": ["base:tiny-sd15", "llm:tiny-gpt2"],
        "current_task": None,
        "missed_deadlines": 0,
    }
    assert after_join["projection"]["error"] is None  # the devnet's Postgres answered

    paused = hydrogen_node(devnet, topics, "pause", "--node", node)
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert f"pause {node}: MINED" in paused.stdout
    assert status_json(devnet, topics, node)["chain"]["status"] == "Paused"

    resumed = hydrogen_node(devnet, topics, "resume", "--node", node)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert status_json(devnet, topics, node)["chain"]["status"] == "Available"

    quit_ = hydrogen_node(devnet, topics, "quit", "--node", node, "--json")
    assert quit_.returncode == 0, quit_.stdout + quit_.stderr
    result = json.loads(quit_.stdout)
    assert (result["action"], result["status"], result["node"]) == ("quit", "MINED", node)
    assert w3.eth.get_transaction_receipt(result["tx_hash"])["status"] == 1
    final = status_json(devnet, topics, node)["chain"]
    assert (final["status"], final["stake_wei"]) == ("Quit", "0")
    # Four transactions of the node's own, numbered by the submitter.
    assert w3.eth.get_transaction_count(node) == 4


def test_pausing_a_node_that_never_joined_names_the_registry_error_and_sends_nothing(
    submitter: Path, devnet: Devnet, topics: Topics, w3: Web3, deployment: dict
) -> None:
    stranger = node_account(STRANGER_INDEX).address
    assert registry(w3, deployment).functions.statusOf(stranger).call() == 0  # never joined
    nonce = w3.eth.get_transaction_count(stranger)

    done = hydrogen_node(devnet, topics, "pause", "--devnet-node", str(STRANGER_INDEX))

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"pause {stranger}: REVERTED InvalidNodeStatus(node={stranger}, status=None)" in (
        done.stdout
    )
    assert "not sent" in done.stdout
    assert w3.eth.get_transaction_count(stranger) == nonce


def test_a_repeated_request_id_gets_the_earlier_answer_and_is_not_published_again(
    submitter: Path, devnet: Devnet, topics: Topics, operators: list[str], kafka_bootstrap: str
) -> None:
    node = operators[1]  # never joined: its resume reverts
    first = hydrogen_node(devnet, topics, "resume", "--node", node)
    assert first.returncode == 1, first.stdout + first.stderr
    [request_id] = [
        line.split()[1] for line in first.stdout.splitlines() if line.startswith("request ")
    ]
    published = requests_published(kafka_bootstrap, topics.requests)

    again = hydrogen_node(devnet, topics, "resume", "--node", node, "--request-id", request_id)

    assert again.returncode == 1, again.stdout + again.stderr
    assert "answered before; not publishing it again" in again.stderr
    assert "REVERTED InvalidNodeStatus" in again.stdout
    assert requests_published(kafka_bootstrap, topics.requests) == published


def test_a_bad_model_id_is_refused_naming_it_and_nothing_is_published(
    devnet: Devnet, topics: Topics, operators: list[str], kafka_bootstrap: str
) -> None:
    before = requests_published(kafka_bootstrap, topics.requests)
    done = hydrogen_node(
        devnet,
        topics,
        "join",
        "--node",
        operators[1],
        "--gpu-name",
        "RTX 4090",
        "--vram",
        "24",
        "--model",
        "base:tiny-sd15",
        "--model",
        "diffusion:tiny-sd15",
    )
    assert done.returncode == 2
    assert "'diffusion:tiny-sd15': unknown model kind 'diffusion'" in done.stderr
    assert requests_published(kafka_bootstrap, topics.requests) == before


def test_a_stake_under_the_registrys_minimum_is_refused_before_publishing(
    devnet: Devnet, topics: Topics, operators: list[str], kafka_bootstrap: str
) -> None:
    before = requests_published(kafka_bootstrap, topics.requests)
    done = hydrogen_node(
        devnet,
        topics,
        "join",
        "--node",
        operators[1],
        "--stake",
        "1",
        "--gpu-name",
        "RTX 4090",
        "--vram",
        "24",
        "--model",
        "base:tiny-sd15",
    )
    assert done.returncode == 2
    assert "'--stake': '1': 1 ETH is less than the registry's minStake 400 ETH" in done.stderr
    assert requests_published(kafka_bootstrap, topics.requests) == before


# ---- status from the read model ----


@pytest.fixture
def scratch_db(pg_dsn: str) -> Iterator[str]:
    """A migrated database of this test's own, dropped afterwards."""
    admin_dsn = pg_dsn.rsplit("/", 1)[0] + "/postgres"
    name = f"node_cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(dsn)
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_status_shows_the_projected_row_beside_the_chain_marking_each_source(
    devnet: Devnet, topics: Topics, scratch_db: str, w3: Web3
) -> None:
    node = node_account(STRANGER_INDEX).address
    with psycopg.connect(scratch_db) as conn:
        conn.execute(
            "INSERT INTO nodes (chain_id, address, status, stake, gpu_name, vram, tier,"
            " model_ids, tasks, successes, earned, version)"
            " VALUES (%s, %s, 'Paused', 0, 'RTX 4090', 24, 3, %s, 7, 6, %s, 12)",
            (w3.eth.chain_id, node, ["base:tiny-sd15"], 3 * ETH),
        )

    doc = status_json(devnet, topics, node, "--dsn", scratch_db)
    human = hydrogen_node(devnet, topics, "status", "--node", node, "--dsn", scratch_db)

    assert doc["chain"]["status"] == "None"
    row = doc["projection"]["row"]
    assert (row["status"], row["tasks"], row["successes"], row["earned"]) == (
        "Paused",
        7,
        6,
        str(3 * ETH),
    )
    lines = {line.split("  ")[0]: line for line in human.stdout.splitlines()}
    assert lines["tasks"].split()[-1] == "postgres"
    assert lines["status"].split()[-1] == "chain"
    assert "the projection says Paused, the chain None" in human.stdout


def test_status_without_postgres_shows_the_chain_alone(
    devnet: Devnet, topics: Topics, operators: list[str]
) -> None:
    doc = status_json(devnet, topics, operators[1], "--dsn", "postgresql://nobody@127.0.0.1:1/none")
    assert doc["chain"]["status"] == "None"
    assert doc["projection"]["row"] is None
    assert doc["projection"]["error"].startswith("Postgres unreachable")


def test_without_a_submitter_the_command_gives_up_after_its_timeout_naming_the_request(
    devnet: Devnet, kafka_bootstrap: str, operators: list[str]
) -> None:
    suffix = f"node-cli-idle-{uuid.uuid4().hex[:8]}"
    idle = [
        dataclasses.replace(t, name=f"{t.name}.{suffix}")
        for t in (CHAIN_TX_REQUESTS, CHAIN_TX_OUTCOMES)
    ]
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), idle)
    unread = Topics(idle[0].name, idle[1].name, "", "")
    started = time.monotonic()

    done = hydrogen_node(devnet, unread, "pause", "--node", operators[1], timeout_s=2)

    assert done.returncode == 3, done.stdout + done.stderr
    assert time.monotonic() - started < 60
    [request_id] = [w for w in done.stderr.split() if w.startswith("cli:")][:1]
    assert f"no outcome for request {request_id}" in done.stderr
    assert f"--request-id {request_id}" in done.stderr
    assert requests_published(kafka_bootstrap, unread.requests) == 1  # it was published
