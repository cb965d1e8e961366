"""Managed mode: an API key creates a task through the relay's custodial wallet."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from confluent_kafka import Producer
from eth_utils import keccak
from relay_helpers import NODES, ChainTasks, RelayServer, count, png, result_of
from test_results import tx_requests
from web3.logs import DISCARD

from relay_api.auth import hash_api_key
from relay_api.client import RelayClient, RelayHTTPError
from schemas.catalog import CHAIN_TX_OUTCOMES, PARTITIONER
from schemas.codec import Codec

ARGS = {
    "version": "2.5.0", "base_model": {"name": "tiny/sd"}, "prompt": "a blue sphere",
    "task_config": {"num_images": 1, "steps": 10, "seed": 3, "image_width": 64, "image_height": 64},
}  # fmt: skip


def api_key(db, rate: int = 60) -> str:
    key = f"hk_test-{uuid.uuid4().hex}"  # a new one each time: the relay caches keys it saw
    db.execute(
        "INSERT INTO relay_api_keys (name, key_hash, rate_per_minute) VALUES ('test', %s, %s)",
        (hash_api_key(key), rate),
    )
    return key


def mine_request(chain: ChainTasks, request: dict, kafka_bootstrap: str) -> int:
    """Do what chain_bridge.submit would: send the call from the relay's account, publish the
    outcome."""
    task_type, args_hash, model_ids, min_vram = json.loads(request["args_json"])
    call = chain.driver.manager.functions.createTask(
        int(task_type), bytes.fromhex(args_hash[2:]), model_ids, int(min_vram)
    )
    receipt = chain.driver.send(request["signer"], call, value=int(request["value_wei"]))
    (created,) = chain.driver.manager.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    outcome = {
        "request_id": request["request_id"], "signer": request["signer"], "status": "MINED",
        "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(), "nonce": 0,
        "block_number": receipt["blockNumber"], "gas_used": receipt["gasUsed"],
        "error_name": None, "error_args_json": None, "reason": "", "observed_at": datetime.now(UTC),
    }  # fmt: skip
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": PARTITIONER})
    producer.produce(
        CHAIN_TX_OUTCOMES.name,
        key=request["request_id"].encode(),
        value=Codec().encode("TxOutcome", outcome),
    )
    producer.flush(10)
    return int(created["args"]["taskId"])


def test_an_api_key_creates_a_task_and_the_nodes_read_its_args(
    relay: RelayServer, chain: ChainTasks, db, kafka_bootstrap: str
) -> None:
    for node in NODES:
        chain.driver.join(node.address)
    app = RelayClient(relay.url, api_key=api_key(db), retries=0)
    requested = app.create_task("SD", ARGS, model_ids=["base:tiny/sd"])
    assert requested.status == "requested" and requested.task_id is None
    (request,) = tx_requests(kafka_bootstrap, requested.request_id)
    assert request["function"] == "createTask"
    assert request["signer"] == relay.settings.relay_address
    assert request["value_wei"] == str(relay.settings.managed_fee_wei)
    raw = json.dumps(ARGS, sort_keys=True, separators=(",", ":")).encode()
    assert json.loads(request["args_json"])[1] == "0x" + keccak(raw).hex()

    task_id = mine_request(chain, request, kafka_bootstrap)
    deadline = time.monotonic() + 15
    while (followed := app.managed(requested.request_id)).status == "requested":
        assert time.monotonic() < deadline, "the relay did not follow the outcome"
        time.sleep(0.1)
    assert (followed.status, followed.task_id) == ("created", str(task_id))
    node = next(n for n in NODES if n.address == chain.driver.selected_nodes(task_id)[0])
    assert relay.client(node).get_args(task_id) == raw


def test_managed_args_are_validated_naming_the_field(relay: RelayServer, db) -> None:
    app = RelayClient(relay.url, api_key=api_key(db), retries=0)
    bad = {**ARGS, "task_config": {**ARGS["task_config"], "num_images": 0}}
    with pytest.raises(RelayHTTPError) as err:
        app.create_task("SD", bad)
    assert err.value.status == 422
    assert err.value.body["field"] == "args.task_config.num_images"
    assert count(db, "relay_managed_tasks") == 0 and count(db, "relay_blobs") == 0


def test_an_unknown_api_key_is_401_and_no_key_is_401(relay: RelayServer, db) -> None:
    response = httpx.post(f"{relay.url}/v1/tasks", json={"task_type": "SD", "args": ARGS},
                          headers={"Authorization": "Bearer hk_nope"})  # fmt: skip
    assert response.status_code == 401
    assert (
        httpx.post(f"{relay.url}/v1/tasks", json={"task_type": "SD", "args": ARGS}).status_code
        == 401
    )
    assert count(db, "relay_managed_tasks") == 0


def test_api_keys_are_stored_hashed(db) -> None:
    key = api_key(db)
    (stored,) = db.execute("SELECT key_hash FROM relay_api_keys").fetchone()
    assert key.encode() not in bytes(stored) and len(bytes(stored)) == 32


def test_a_key_over_its_rate_gets_429(relay: RelayServer, db) -> None:
    key = api_key(db, rate=2)
    app = RelayClient(relay.url, api_key=key, retries=0)
    codes = []
    for _ in range(3):
        try:
            app.managed("relay:31337:managed:" + "0" * 32)
        except RelayHTTPError as exc:
            codes.append(exc.status)
    assert codes == [404, 404, 429]


def test_the_api_key_downloads_its_managed_tasks_result_and_no_other_key_can(
    relay: RelayServer, chain: ChainTasks, db, kafka_bootstrap: str
) -> None:
    for node in NODES:
        chain.driver.join(node.address)
    key = api_key(db)
    app = RelayClient(relay.url, api_key=key, retries=0)
    requested = app.create_task("SD", ARGS)
    (request,) = tx_requests(kafka_bootstrap, requested.request_id)
    task_id = mine_request(chain, request, kafka_bootstrap)
    deadline = time.monotonic() + 15
    while app.managed(requested.request_id).status == "requested":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    image = png(60)
    nodes = chain.driver.selected_nodes(task_id)
    result_node = chain.validate(task_id, dict.fromkeys(nodes, result_of(image)))
    as_node = next(n for n in NODES if n.address == result_node)
    assert relay.client(as_node).put_result(task_id, result_node, 0, image).delivered
    assert app.download_result(task_id, 0) == image
    other = RelayClient(relay.url, api_key=api_key(db), retries=0)
    with pytest.raises(RelayHTTPError) as err:
        other.download_result(task_id, 0)
    assert err.value.status == 403
