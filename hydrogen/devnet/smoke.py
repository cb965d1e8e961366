"""A self-check of a running devnet: one event through Kafka, one transaction through the
chain, one row through Postgres and one blob through the object store, each read back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition

from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.service import DevnetError
from hydrogen.devnet.supervisor import Devnet
from schemas.catalog import OPS_SMOKE, PARTITIONER


@dataclass(frozen=True)
class SmokeResult:
    run_id: str
    kafka_offset: int
    tx_hash: str
    block_number: int
    beat_seq: int
    blob_key: str


def run_smoke(devnet: Devnet, say: Callable[[str], None] = lambda _: None) -> SmokeResult:
    run_id = uuid.uuid4()
    payload = json.dumps({"run_id": str(run_id), "at": time.time()}).encode()

    t = time.monotonic()
    offset = _produce_and_read_back(devnet.kafka.address, str(run_id).encode(), payload)
    say(
        f"kafka       event written and read back at {OPS_SMOKE.name}[0]@{offset} "
        f"({time.monotonic() - t:.2f}s)"
    )

    t = time.monotonic()
    w3 = devnet.anvil.web3()
    deployment = json.loads(devnet.layout.deployment_file.read_text())
    beacon_info = deployment["contracts"]["DevnetBeacon"]
    beacon = w3.eth.contract(address=beacon_info["address"], abi=beacon_info["abi"])
    app = devnet_account(Role.APP)
    tx = beacon.functions.beat(run_id.bytes.ljust(32, b"\0")).build_transaction(
        {"from": app.address, "nonce": w3.eth.get_transaction_count(app.address, "pending")}
    )
    tx_hash = w3.eth.send_raw_transaction(app.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
    beats = beacon.events.Beat().process_receipt(receipt)
    if receipt["status"] != 1 or not beats or beats[0]["args"]["tag"][:16] != run_id.bytes:
        raise DevnetError(f"smoke transaction {tx_hash.hex()} did not emit the expected Beat")
    seq = beats[0]["args"]["seq"]
    say(
        f"anvil       tx {_hex(tx_hash)} mined in block {receipt['blockNumber']}, Beat #{seq} "
        f"({time.monotonic() - t:.2f}s)"
    )

    t = time.monotonic()
    with psycopg.connect(devnet.postgres.dsn) as conn:
        conn.execute(
            "INSERT INTO smoke_checks (run_id, kafka_topic, kafka_offset, tx_hash, block_number)"
            " VALUES (%s, %s, %s, %s, %s)",
            (run_id, OPS_SMOKE.name, offset, _hex(tx_hash), receipt["blockNumber"]),
        )
        row = conn.execute(
            "SELECT kafka_offset, tx_hash FROM smoke_checks WHERE run_id = %s", (run_id,)
        ).fetchone()
    if row != (offset, _hex(tx_hash)):
        raise DevnetError(f"smoke row read back as {row!r}")
    say(
        f"postgres    row smoke_checks[{run_id}] written and read back ({time.monotonic() - t:.2f}s)"
    )

    t = time.monotonic()
    store = devnet.objectstore.store()
    key = f"smoke/{run_id}.json"
    store.put(key, payload)
    if store.get(key) != payload:
        raise DevnetError(f"blob {key} read back different from what was written")
    store.delete(key)
    say(f"objectstore blob {key} written, read back and deleted ({time.monotonic() - t:.2f}s)")

    return SmokeResult(str(run_id), offset, _hex(tx_hash), receipt["blockNumber"], seq, key)


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _produce_and_read_back(bootstrap: str, key: bytes, value: bytes) -> int:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "partitioner": PARTITIONER}
    )
    delivered: list[int] = []
    errors: list[str] = []

    def on_delivery(err, msg) -> None:  # type: ignore[no-untyped-def]
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append(msg.offset())

    producer.produce(OPS_SMOKE.name, key=key, value=value, on_delivery=on_delivery)
    producer.flush(15)
    if errors or not delivered:
        raise DevnetError(f"producing to {OPS_SMOKE.name} failed: {errors or 'no delivery report'}")
    offset = delivered[0]

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "hydrogen-smoke", "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(OPS_SMOKE.name, 0, offset)])
        msg = consumer.poll(15)
    finally:
        consumer.close()
    if msg is None or msg.error() or msg.value() != value or msg.key() != key:
        raise DevnetError(
            f"reading back {OPS_SMOKE.name}@{offset} gave {msg and (msg.error() or msg.value())!r}"
        )
    return offset
