"""chain_bridge.submit against the devnet's real Kafka and anvil.

Each test gets its own topics (named like the catalog's, with a suffix), consumer group and
freshly generated, funded signers whose keys sit in encrypted keystore files: no test sees
another's messages or nonces, and the shared chain needs no snapshot (a submitter in another
process could not follow an `evm_revert` anyway).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from chain_bridge.calldata import ContractBook
from chain_bridge.signers import sign_attempt
from chain_bridge.submit import run_submitter
from chain_bridge.submit_records import journal_record
from chain_bridge.submit_settings import SubmitSettings
from chain_bridge.submit_state import Fees, InFlight, SignerState
from hydrogen.devnet.supervisor import Devnet
from hydrogen.topics import ensure_topics
from schemas.catalog import CHAIN_TX_JOURNAL, CHAIN_TX_OUTCOMES, CHAIN_TX_REQUESTS, PARTITIONER
from schemas.codec import Codec

REPO_ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery staple"
codec = Codec()


@dataclasses.dataclass(frozen=True)
class Topics:
    requests: str
    outcomes: str
    journal: str
    dlq: str


@pytest.fixture
def topics(kafka_bootstrap: str) -> Topics:
    suffix = uuid.uuid4().hex[:8]
    wanted = [
        dataclasses.replace(t, name=f"{t.name}.{suffix}")
        for t in (CHAIN_TX_REQUESTS, CHAIN_TX_OUTCOMES, CHAIN_TX_JOURNAL, CHAIN_TX_REQUESTS.dlq)
    ]
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), wanted)
    return Topics(*(t.name for t in wanted))


def fresh_signers(w3: Web3, folder: Path, n: int, balance: int = 10**20) -> list[str]:
    return [a.address for a in fresh_accounts(w3, folder, n, balance)]


def fresh_accounts(w3: Web3, folder: Path, n: int, balance: int = 10**20) -> list[LocalAccount]:
    """`n` new funded accounts, each in an encrypted keystore file under `folder`."""
    folder.mkdir(exist_ok=True)
    accounts = []
    for _ in range(n):
        account = Account.create()
        # pbkdf2 with few rounds: the real decrypt path, without scrypt's seconds per key.
        keyfile = Account.encrypt(account.key, PASSWORD, kdf="pbkdf2", iterations=1000)
        (folder / f"{account.address}.json").write_text(json.dumps(keyfile))
        w3.provider.make_request("anvil_setBalance", [account.address, hex(balance)])
        accounts.append(account)
    return accounts


def settings_for(devnet: Devnet, topics: Topics, keystore: Path, **extra: Any) -> SubmitSettings:
    return SubmitSettings(
        kafka_bootstrap=devnet.kafka.address,
        rpc_url=devnet.anvil.address,
        deployment_file=devnet.layout.deployment_file,
        group_id=f"submit-test-{uuid.uuid4().hex[:8]}",
        instance_id="submit-0",
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        requests_topic=topics.requests,
        outcomes_topic=topics.outcomes,
        journal_topic=topics.journal,
        dlq_topic=topics.dlq,
        keystore_dir=keystore,
        keystore_password=PASSWORD,
        **extra,
    )


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def signer(w3: Web3, keystore: Path) -> str:
    return fresh_signers(w3, keystore, 1)[0]


class Running:
    def __init__(self, settings: SubmitSettings) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self.thread.start()

    def _run(self, settings: SubmitSettings) -> None:
        try:
            run_submitter(settings, self.stop)
        except BaseException as exc:
            self.error = exc

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert self.error is None, f"the submitter died: {self.error!r}"


@pytest.fixture
def submitter(devnet: Devnet, topics: Topics, keystore: Path, signer: str) -> Iterator[Running]:
    running = Running(settings_for(devnet, topics, keystore))
    try:
        yield running
    finally:
        running.close()


def request(
    request_id: str,
    signer: str,
    contract: str,
    function: str,
    args: list[Any],
    not_after: int | None = None,
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "signer": signer,
        "contract": contract,
        "function": function,
        "args_json": json.dumps(args),
        "value_wei": "0",
        "not_after": not_after,
        "requested_at": int(time.time() * 1000),
        "origin": "tests.bridge",
    }


def beat(request_id: str, signer: str, **kw: Any) -> dict[str, Any]:
    """A DevnetBeacon.beat call tagged with the request id, so the chain shows who asked."""
    return request(request_id, signer, "DevnetBeacon", "beat", [tag_of(request_id)], **kw)


def tag_of(request_id: str) -> str:
    return "0x" + keccak(text=request_id).hex()


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": PARTITIONER})
    for key, value in messages:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(10) == 0


def send(bootstrap: str, topic: str, *requests: dict[str, Any]) -> None:
    produce(
        bootstrap, topic, [(r["signer"].encode(), codec.encode("TxRequest", r)) for r in requests]
    )


def read(bootstrap: str, topic: str, want: int, timeout: float = 20) -> list[dict[str, Any]]:
    """Committed records of `topic` from the start: at least `want`, then all there are."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
    found: list[dict[str, Any]] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and (len(found) < want or len(at_end) < 3):
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                    continue
                raise AssertionError(msg.error())
            at_end.discard(msg.partition())
            found.append(codec.decode(msg.value())[1])
    finally:
        consumer.close()
    return found


def beats_of(w3: Web3, deployment: dict, signer: str) -> list[tuple[str, str]]:
    """(tag, tx hash) of every Beat the signer caused, in chain order."""
    logs = w3.eth.get_logs(
        {
            "address": deployment["contracts"]["DevnetBeacon"]["address"],
            "fromBlock": 0,
            "topics": [
                "0x" + keccak(text="Beat(address,uint256,bytes32)").hex(),
                "0x" + "00" * 12 + signer[2:].lower(),
            ],
        }
    )
    return [
        ("0x" + bytes(log["data"])[:32].hex(), "0x" + bytes(log["transactionHash"]).hex())
        for log in logs
    ]


# ---- behaviours ----


def test_a_request_is_mined_and_its_effect_is_on_chain(
    submitter: Running,
    kafka_bootstrap: str,
    topics: Topics,
    signer: str,
    w3: Web3,
    deployment: dict,
) -> None:
    send(kafka_bootstrap, topics.requests, beat("mined-1", signer))

    [outcome] = read(kafka_bootstrap, topics.outcomes, 1)

    assert outcome["status"] == "MINED"
    assert (outcome["request_id"], outcome["signer"], outcome["nonce"]) == ("mined-1", signer, 0)
    assert beats_of(w3, deployment, signer) == [(tag_of("mined-1"), outcome["tx_hash"])]
    assert w3.eth.get_transaction_count(signer) == 1


def test_a_reverting_call_yields_its_custom_error_and_sends_nothing(
    submitter: Running, kafka_bootstrap: str, topics: Topics, signer: str, w3: Web3
) -> None:
    call = request(
        "revert-1", signer, "TaskManager", "submitCommitment", [987654321, "0x" + "11" * 32]
    )
    send(kafka_bootstrap, topics.requests, call)

    [outcome] = read(kafka_bootstrap, topics.outcomes, 1)

    assert outcome["status"] == "REVERTED"
    assert outcome["error_name"] == "UnknownTask"
    assert json.loads(outcome["error_args_json"]) == {"taskId": 987654321}
    assert outcome["tx_hash"] is None  # refused by the pre-flight: no gas burned
    assert w3.eth.get_transaction_count(signer) == 0


def test_a_call_its_signer_cannot_pay_for_is_rejected_and_the_loop_goes_on(
    submitter: Running, kafka_bootstrap: str, topics: Topics, signer: str, w3: Web3
) -> None:
    join = request("broke-1", signer, "NodeRegistry", "join", ["RTX 4090", 24, ["base:sd15"]])
    broke = {**join, "value_wei": str(w3.eth.get_balance(signer) * 2)}  # a stake it lacks
    send(kafka_bootstrap, topics.requests, broke, beat("paid-1", signer))

    outcomes = {o["request_id"]: o for o in read(kafka_bootstrap, topics.outcomes, 2)}

    assert outcomes["broke-1"]["status"] == "REJECTED"
    assert "insufficient funds" in outcomes["broke-1"]["reason"].lower()
    assert outcomes["broke-1"]["tx_hash"] is None
    assert (outcomes["paid-1"]["status"], outcomes["paid-1"]["nonce"]) == ("MINED", 0)
    assert w3.eth.get_transaction_count(signer) == 1


def test_an_expired_request_is_answered_and_never_sent(
    submitter: Running, kafka_bootstrap: str, topics: Topics, signer: str, w3: Web3
) -> None:
    past = int(time.time() * 1000) - 60_000
    send(
        kafka_bootstrap,
        topics.requests,
        beat("late-1", signer, not_after=past),
        beat("ok-1", signer),
    )

    outcomes = {o["request_id"]: o for o in read(kafka_bootstrap, topics.outcomes, 2)}

    assert outcomes["late-1"]["status"] == "EXPIRED"
    assert outcomes["late-1"]["tx_hash"] is None
    assert (outcomes["ok-1"]["status"], outcomes["ok-1"]["nonce"]) == ("MINED", 0)
    assert w3.eth.get_transaction_count(signer) == 1  # only ok-1's


def test_a_signer_without_a_key_is_dead_lettered_and_rejected(
    submitter: Running, kafka_bootstrap: str, topics: Topics
) -> None:
    stranger = Account.create().address
    send(kafka_bootstrap, topics.requests, beat("nokey-1", stranger))

    [dead] = read(kafka_bootstrap, topics.dlq, 1)
    [outcome] = read(kafka_bootstrap, topics.outcomes, 1)

    assert (dead["error_type"], dead["key"]) == ("SignerKeyMissing", stranger.encode())
    assert stranger in dead["reason"]
    assert (outcome["request_id"], outcome["status"]) == ("nokey-1", "REJECTED")
    assert stranger in outcome["reason"]


def test_undecodable_bytes_and_unknown_functions_are_dead_lettered_and_the_loop_goes_on(
    submitter: Running, kafka_bootstrap: str, topics: Topics, signer: str
) -> None:
    produce(kafka_bootstrap, topics.requests, [(signer.encode(), b"not avro at all")])
    send(
        kafka_bootstrap,
        topics.requests,
        request("typo-1", signer, "DevnetBeacon", "beet", []),
        beat("after-1", signer),
    )

    dead = read(kafka_bootstrap, topics.dlq, 2)
    outcomes = {o["request_id"]: o for o in read(kafka_bootstrap, topics.outcomes, 2)}

    assert sorted(d["error_type"] for d in dead) == ["DecodeError", "UnknownCallError"]
    assert next(d for d in dead if d["error_type"] == "DecodeError")["value"] == b"not avro at all"
    assert "no function 'beet'" in outcomes["typo-1"]["reason"]
    assert outcomes["typo-1"]["status"] == "REJECTED"
    assert outcomes["after-1"]["status"] == "MINED"


def test_a_repeated_request_id_is_sent_once(
    submitter: Running,
    kafka_bootstrap: str,
    topics: Topics,
    signer: str,
    w3: Web3,
    deployment: dict,
) -> None:
    send(kafka_bootstrap, topics.requests, beat("twice-1", signer), beat("twice-1", signer))
    send(kafka_bootstrap, topics.requests, beat("then-1", signer))

    outcomes = read(kafka_bootstrap, topics.outcomes, 2)

    assert sorted(o["request_id"] for o in outcomes) == ["then-1", "twice-1"]
    assert [t for t, _ in beats_of(w3, deployment, signer)] == [tag_of("twice-1"), tag_of("then-1")]


def test_a_stuck_transaction_is_replaced_with_a_higher_fee_and_mined_once(
    devnet: Devnet, topics: Topics, keystore: Path, signer: str, w3: Web3, deployment: dict
) -> None:
    w3.provider.make_request("evm_setAutomine", [False])
    running = Running(settings_for(devnet, topics, keystore, bump_after_s=0.3))
    try:
        send(devnet.kafka.address, topics.requests, beat("stuck-1", signer))
        attempts = attempts_journaled(devnet.kafka.address, topics.journal, at_least=3)
        w3.provider.make_request("evm_mine", [])
        [outcome] = read(devnet.kafka.address, topics.outcomes, 1)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        running.close()

    first, mined = attempts[0], w3.eth.get_transaction(outcome["tx_hash"])
    assert outcome["status"] == "MINED"
    assert outcome["tx_hash"] != first["tx_hash"]  # a replacement won
    assert mined["nonce"] == first_nonce(attempts) == 0
    assert mined["maxFeePerGas"] > int(first["max_fee_per_gas"]) * 1.3  # two bumps of 15%
    assert beats_of(w3, deployment, signer) == [(tag_of("stuck-1"), outcome["tx_hash"])]
    assert w3.eth.get_transaction_count(signer) == 1


def attempts_journaled(bootstrap: str, topic: str, at_least: int) -> list[dict[str, Any]]:
    """The signed attempts of the one journaled request, once there are `at_least`."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for record in reversed(read(bootstrap, topic, 1, timeout=2)):
            if record["in_flight"] and len(record["in_flight"][0]["attempts"]) >= at_least:
                return [
                    {**a, "nonce": record["in_flight"][0]["nonce"]}
                    for a in record["in_flight"][0]["attempts"]
                ]
    raise AssertionError(f"fewer than {at_least} attempts journaled on {topic}")


def first_nonce(attempts: list[dict[str, Any]]) -> int:
    assert len({a["nonce"] for a in attempts}) == 1  # every replacement reuses the nonce
    return attempts[0]["nonce"]


def test_a_call_that_reverts_on_chain_spends_its_nonce_and_names_its_error(
    devnet: Devnet, topics: Topics, keystore: Path, w3: Web3, deployment: dict
) -> None:
    # Joining leaves a node in the registry that other tests would select: undo it after.
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        signer = fresh_signers(w3, keystore, 1, balance=10**21)[0]
        registry = deployment["contracts"]["NodeRegistry"]
        stake = (
            w3.eth.contract(address=registry["address"], abi=registry["abi"])
            .functions.minStake()
            .call()
        )
        joins = [
            {
                **request(rid, signer, "NodeRegistry", "join", ["NVIDIA H100", 24, ["base:sd15"]]),
                "value_wei": str(stake),
            }
            for rid in ("join-1", "join-2")
        ]
        # Both wait before the submitter starts, so one step simulates both before sending
        # either: the second passes its pre-flight and can only fail on chain.
        send(devnet.kafka.address, topics.requests, *joins)
        running = Running(settings_for(devnet, topics, keystore))
        try:
            outcomes = {o["request_id"]: o for o in read(devnet.kafka.address, topics.outcomes, 2)}
        finally:
            running.close()
        nonce = w3.eth.get_transaction_count(signer)
    finally:
        w3.provider.make_request("evm_revert", [snapshot])

    first, second = outcomes["join-1"], outcomes["join-2"]
    assert (first["status"], first["nonce"]) == ("MINED", 0)
    assert (second["status"], second["nonce"], second["error_name"]) == (
        "REVERTED",
        1,
        "AlreadyRegistered",
    )
    assert json.loads(second["error_args_json"])["node"] == signer
    assert second["tx_hash"] is not None and second["block_number"] > first["block_number"]
    assert nonce == 2  # a transaction reverted on chain still used its nonce


# ---- recovery from the journal, each crash point set up by hand ----


def signed_beat(
    account: LocalAccount, deployment: dict, request_id: str, nonce: int, chain_id: int
) -> InFlight:
    call = ContractBook.from_deployment(deployment).encode_call(
        "DevnetBeacon", "beat", json.dumps([tag_of(request_id)])
    )
    fees = Fees(50 * 10**9, 2 * 10**9)
    attempt = sign_attempt(account, chain_id, nonce, call.to, call.data, 0, 100_000, fees, 0)
    return InFlight(request_id, nonce, call.to, call.data, 0, 100_000, (attempt,))


def journal(bootstrap: str, topic: str, state: SignerState) -> None:
    """What a submitter killed after its journal commit left behind."""
    value = codec.encode("SignerJournal", journal_record(state, int(time.time() * 1000)))
    produce(bootstrap, topic, [(state.signer.encode(), value)])


@pytest.fixture
def account(w3: Web3, keystore: Path) -> LocalAccount:
    return fresh_accounts(w3, keystore, 1)[0]


def test_a_journaled_transaction_that_never_left_is_broadcast_after_a_crash_and_numbering_goes_on(
    devnet: Devnet,
    topics: Topics,
    keystore: Path,
    account: LocalAccount,
    w3: Web3,
    deployment: dict,
) -> None:
    tx = signed_beat(account, deployment, "crashed-1", 0, w3.eth.chain_id)
    journal(
        devnet.kafka.address,
        topics.journal,
        SignerState(account.address, w3.eth.chain_id, 1, (tx,)),
    )

    running = Running(settings_for(devnet, topics, keystore))
    try:
        send(devnet.kafka.address, topics.requests, beat("next-1", account.address))
        outcomes = {o["request_id"]: o for o in read(devnet.kafka.address, topics.outcomes, 2)}
    finally:
        running.close()

    # The very bytes journaled went out: same nonce, same hash; nothing re-signed.
    assert (outcomes["crashed-1"]["status"], outcomes["crashed-1"]["tx_hash"]) == (
        "MINED",
        tx.latest.tx_hash,
    )
    assert (outcomes["next-1"]["status"], outcomes["next-1"]["nonce"]) == ("MINED", 1)
    assert [t for t, _ in beats_of(w3, deployment, account.address)] == [
        tag_of("crashed-1"),
        tag_of("next-1"),
    ]


def test_a_journaled_transaction_already_mined_is_settled_from_its_receipt(
    devnet: Devnet,
    topics: Topics,
    keystore: Path,
    account: LocalAccount,
    w3: Web3,
    deployment: dict,
) -> None:
    tx = signed_beat(account, deployment, "mined-before-crash", 0, w3.eth.chain_id)
    w3.eth.send_raw_transaction(tx.latest.raw_tx)  # the dead submitter got this far
    journal(
        devnet.kafka.address,
        topics.journal,
        SignerState(account.address, w3.eth.chain_id, 1, (tx,)),
    )

    running = Running(settings_for(devnet, topics, keystore))
    try:
        [outcome] = read(devnet.kafka.address, topics.outcomes, 1)
    finally:
        running.close()

    assert (outcome["status"], outcome["tx_hash"], outcome["nonce"]) == (
        "MINED",
        tx.latest.tx_hash,
        0,
    )
    assert w3.eth.get_transaction_count(account.address) == 1
    assert [t for t, _ in beats_of(w3, deployment, account.address)] == [
        tag_of("mined-before-crash")
    ]


def test_a_nonce_taken_by_a_transaction_not_ours_is_reported_replaced(
    devnet: Devnet,
    topics: Topics,
    keystore: Path,
    account: LocalAccount,
    w3: Web3,
    deployment: dict,
) -> None:
    ours = signed_beat(account, deployment, "ours-1", 0, w3.eth.chain_id)
    foreign = signed_beat(account, deployment, "someone-else", 0, w3.eth.chain_id)
    w3.eth.send_raw_transaction(foreign.latest.raw_tx)  # the same key used elsewhere
    journal(
        devnet.kafka.address,
        topics.journal,
        SignerState(account.address, w3.eth.chain_id, 1, (ours,)),
    )

    running = Running(settings_for(devnet, topics, keystore))
    try:
        [outcome] = read(devnet.kafka.address, topics.outcomes, 1)
    finally:
        running.close()

    assert (outcome["request_id"], outcome["status"], outcome["nonce"]) == ("ours-1", "REPLACED", 0)
    assert ours.latest.tx_hash in outcome["reason"]
    assert [t for t, _ in beats_of(w3, deployment, account.address)] == [tag_of("someone-else")]


# ---- kill -9 in the middle of a burst ----


def settings_env(settings: SubmitSettings) -> dict[str, str]:
    """`settings` as the environment of a `hydrogen bridge submit` process."""
    env = {
        f"HYDROGEN_SUBMIT_{name.upper()}": (
            json.dumps(value) if isinstance(value, dict | list) else str(value)
        )
        for name, value in settings.model_dump(exclude_none=True).items()
    }
    env["HYDROGEN_SUBMIT_KEYSTORE_PASSWORD"] = PASSWORD  # dumped as '**********'
    return env


def start_process(settings_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hydrogen", "-v", "bridge", "submit"],
            cwd=REPO_ROOT,
            env={**os.environ, **settings_env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class OutcomeCount:
    """A reader that keeps its place, to see the outcome count grow while a burst runs."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "unused",
                "isolation.level": "read_committed",
            }
        )
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
        self.seen = 0

    def wait_for(self, at_least: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.seen < at_least:
            assert time.monotonic() < deadline, f"only {self.seen} outcomes after {timeout}s"
            msg = self.consumer.poll(0.05)
            if msg is not None and not msg.error():
                self.seen += 1
        return self.seen


def wait_for_line(log: Path, text: str, times: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(text) < times:
        assert time.monotonic() < deadline, f"{text!r} not {times} times in {log} after {timeout}s"
        time.sleep(0.05)


def trickle(bootstrap: str, topic: str, requests: list[dict[str, Any]], gap_s: float) -> None:
    """The burst, one request at a time, so that kills land while it is still arriving."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "partitioner": PARTITIONER, "linger.ms": 0}
    )
    for r in requests:
        producer.produce(topic, key=r["signer"].encode(), value=codec.encode("TxRequest", r))
        producer.poll(0)
        time.sleep(gap_s)
    assert producer.flush(10) == 0


def test_kill_9_mid_burst_loses_nothing_and_sends_nothing_twice(
    devnet: Devnet,
    topics: Topics,
    keystore: Path,
    w3: Web3,
    deployment: dict,
    tmp_path: Path,
) -> None:
    signers = fresh_signers(w3, keystore, 3)
    settings = settings_for(devnet, topics, keystore)
    env = settings_env(settings)
    # Every tenth asks for a call that reverts: answered without a transaction, so it must
    # not take a nonce, however the kills fall.
    burst = [
        request(
            f"burst-{i:03d}",
            signers[i % 3],
            "TaskManager",
            "submitCommitment",
            [10**9 + i, "0x" + "22" * 32],
        )
        if i % 10 == 9
        else beat(f"burst-{i:03d}", signers[i % 3])
        for i in range(60)
    ]
    log = Path(os.environ.get("SUBMIT_CRASH_LOG", tmp_path / "submit.log"))
    kills = []
    rng = random.Random(9)

    count = OutcomeCount(devnet.kafka.address, topics.outcomes)
    proc = start_process(env, log)
    wait_for_line(log, "assigned partitions", 1)
    # Fed only now, a little at a time: the loop works through it in many small steps, so
    # a kill lands inside one (deciding, committing, broadcasting, settling).
    feeder = threading.Thread(
        target=trickle, args=(devnet.kafka.address, topics.requests, burst, 0.04), daemon=True
    )
    feeder.start()
    try:
        for n, threshold in enumerate((10, 30), start=2):
            kills.append(count.wait_for(threshold))
            time.sleep(rng.uniform(0, 0.03))  # vary the instruction the kill lands on
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc = start_process(env, log)
            wait_for_line(log, "assigned partitions", n)
        feeder.join(30)
        outcomes = read(devnet.kafka.address, topics.outcomes, 60, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        count.consumer.close()

    per_request = Counter(o["request_id"] for o in outcomes)
    nonces = {s: w3.eth.get_transaction_count(s) for s in signers}
    beats = {s: beats_of(w3, deployment, s) for s in signers}
    print(
        f"\nkill -9 after {kills} outcomes; requests {len(burst)}, outcomes {len(outcomes)}, "
        f"statuses {dict(Counter(o['status'] for o in outcomes))}, nonces {list(nonces.values())}, "
        f"beats {[len(b) for b in beats.values()]}; on each start: "
        f"{[line.split('assigned ')[1] for line in log.read_text().splitlines() if 'assigned partitions' in line]}; "
        f"rebroadcasts refused: {log.read_text().count('broadcast refused')}"
    )
    assert len(kills) == 2 and all(k < 60 for k in kills), "a kill came after the burst ended"
    assert per_request == {r["request_id"]: 1 for r in burst}  # nothing missing, nothing twice
    assert Counter(o["status"] for o in outcomes) == {"MINED": 54, "REVERTED": 6}
    assert {o["error_name"] for o in outcomes if o["status"] == "REVERTED"} == {"UnknownTask"}
    for s in signers:
        mined = [o for o in outcomes if o["signer"] == s and o["status"] == "MINED"]
        assert nonces[s] == len(mined) == 18  # reverted in pre-flight: no transaction, no nonce
        assert sorted(o["nonce"] for o in mined) == list(range(18))
        # Every tag exactly once on chain, carried by the transaction its outcome names.
        assert sorted(beats[s]) == sorted((tag_of(o["request_id"]), o["tx_hash"]) for o in mined)


def test_two_instances_share_the_signers_and_one_killed_hands_its_signers_over(
    devnet: Devnet,
    topics: Topics,
    keystore: Path,
    w3: Web3,
    deployment: dict,
    tmp_path: Path,
) -> None:
    """Scaled out: two submitters in one group split the signers' partitions; one is killed
    mid-burst and never comes back, and the other takes its signers over (journal included)
    once the group drops it."""
    signers = fresh_signers(w3, keystore, 3)
    settings = settings_for(devnet, topics, keystore)  # the group drops a member after 6 s
    env = settings_env(settings)
    burst = [beat(f"pair-{i:03d}", signers[i % 3]) for i in range(45)]
    logs = [tmp_path / "submit-0.log", tmp_path / "submit-1.log"]

    count = OutcomeCount(devnet.kafka.address, topics.outcomes)
    first = start_process({**env, "HYDROGEN_SUBMIT_INSTANCE_ID": "submit-0"}, logs[0])
    wait_for_line(logs[0], "assigned partitions", 1)
    second = start_process({**env, "HYDROGEN_SUBMIT_INSTANCE_ID": "submit-1"}, logs[1])
    wait_for_line(logs[1], "assigned partitions", 1)
    feeder = threading.Thread(
        target=trickle, args=(devnet.kafka.address, topics.requests, burst, 0.04), daemon=True
    )
    feeder.start()
    try:
        count.wait_for(12)
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        feeder.join(30)
        outcomes = read(devnet.kafka.address, topics.outcomes, 45, timeout=90)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        count.consumer.close()

    shares = [
        [
            line.split("assigned ")[1]
            for line in log.read_text().splitlines()
            if "assigned part" in line
        ]
        for log in logs
    ]
    print(f"\nassignments: submit-0 {shares[0]}, submit-1 {shares[1]}")
    assert shares[1], "the second instance never got a partition"
    per_request = Counter(o["request_id"] for o in outcomes)
    assert per_request == {r["request_id"]: 1 for r in burst}  # nothing missing, nothing twice
    assert {o["status"] for o in outcomes} == {"MINED"}
    for s in signers:
        mined = sorted(o["nonce"] for o in outcomes if o["signer"] == s)
        assert mined == list(range(15)) and w3.eth.get_transaction_count(s) == 15
        assert len(beats_of(w3, deployment, s)) == 15  # each beat sent once
