"""PUT and GET of task args: who may, what is checked, and that a refusal stores nothing."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from conftest import sd_args
from eth_utils import keccak
from relay_helpers import APP, NODES, STRANGER, ChainTasks, RelayServer, blob_rows, count

from relay_api.client import AsyncRelayClient, RelayHTTPError
from schemas.request_signing import sign_request


def test_the_creator_puts_args_and_a_selected_node_reads_them(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    args = sd_args(seed=7)
    task_id, nodes = chain.running_task(args)
    stored = relay.client(APP).put_args(task_id, args)
    assert stored.size == len(args) and stored.kind == "args"
    assert blob_rows(db, task_id) == [("args", "", 0, len(args))]
    node = next(n for n in NODES if n.address == nodes[0])
    assert relay.client(node).get_args(task_id) == args


def test_putting_the_same_args_again_changes_nothing(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    args = sd_args(seed=8)
    task_id, _ = chain.running_task(args)
    relay.client(APP).put_args(task_id, args)
    again = relay.client(APP).put_args(task_id, args)
    assert again.size == len(args)
    assert count(db, "relay_blobs") == 1


def test_args_of_a_task_the_chain_has_not_queued_for_nodes_yet_are_taken(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    args = sd_args(seed=9)
    task_id = chain.queued_task(args)  # no node joined: Queued
    relay.client(APP).put_args(task_id, args)
    assert blob_rows(db, task_id) == [("args", "", 0, len(args))]


def test_someone_else_than_the_creator_cannot_put_args(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    args = sd_args(seed=10)
    task_id, _ = chain.running_task(args)
    with pytest.raises(RelayHTTPError) as err:
        relay.client(STRANGER).put_args(task_id, args)
    assert err.value.status == 403
    assert STRANGER.address in err.value.detail and APP.address in err.value.detail
    assert blob_rows(db, task_id) == []


def test_args_whose_keccak_differs_from_the_chain_are_refused(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    task_id, _ = chain.running_task(sd_args(seed=11))
    other = sd_args(seed=12)
    with pytest.raises(RelayHTTPError) as err:
        relay.client(APP).put_args(task_id, other)
    assert err.value.status == 409
    assert "0x" + keccak(other).hex() in err.value.detail
    assert blob_rows(db, task_id) == []


def test_invalid_args_are_refused_naming_the_field_and_the_value(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    bad = sd_args(seed=13).replace(b'"steps": 10', b'"steps": -3')
    task_id, _ = chain.running_task(bad)
    with pytest.raises(RelayHTTPError) as err:
        relay.client(APP).put_args(task_id, bad)
    assert err.value.status == 422
    assert err.value.body["field"] == "task_config.steps"
    assert err.value.body["value"] == -3
    assert blob_rows(db, task_id) == []


def test_malformed_json_is_refused(relay: RelayServer, chain: ChainTasks, db) -> None:
    bad = b'{"version": "2.5.0", '
    task_id, _ = chain.running_task(bad)
    with pytest.raises(RelayHTTPError) as err:
        relay.client(APP).put_args(task_id, bad)
    assert err.value.status == 422
    assert "malformed JSON" in err.value.detail
    assert blob_rows(db, task_id) == []


def test_oversized_args_are_refused_with_413(relay: RelayServer, chain: ChainTasks, db) -> None:
    big = sd_args(seed=14, negative_prompt="x" * (relay.settings.max_args_bytes + 1))
    task_id, _ = chain.running_task(big)
    with pytest.raises(RelayHTTPError) as err:
        relay.client(APP).put_args(task_id, big)
    assert err.value.status == 413
    assert str(relay.settings.max_args_bytes) in err.value.detail
    assert blob_rows(db, task_id) == []


def test_a_stranger_cannot_read_args(relay: RelayServer, chain: ChainTasks, db) -> None:
    args = sd_args(seed=15)
    task_id, _ = chain.running_task(args)
    relay.client(APP).put_args(task_id, args)
    with pytest.raises(RelayHTTPError) as err:
        relay.client(STRANGER).get_args(task_id)
    assert err.value.status == 403


def test_args_not_put_yet_are_404_for_a_node(relay: RelayServer, chain: ChainTasks) -> None:
    task_id, nodes = chain.running_task(sd_args(seed=16))
    node = next(n for n in NODES if n.address == nodes[0])
    with pytest.raises(RelayHTTPError) as err:
        relay.client(node).get_args(task_id)
    assert err.value.status == 404


def test_a_task_that_does_not_exist_is_404(relay: RelayServer, chain: ChainTasks, db) -> None:
    with pytest.raises(RelayHTTPError) as err:
        relay.client(APP).put_args(999_999, sd_args())
    assert err.value.status == 404
    assert count(db, "relay_blobs") == 0


# ---- signatures ----


def _signed_put(
    relay: RelayServer, task_id: int, body: bytes, account=APP, timestamp=None, path=None
):
    path = path or f"/v1/tasks/{task_id}/args"
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    headers = sign_request(account.key, "PUT", path, ts, body).as_dict()
    return headers, httpx.put(relay.url + path, content=body, headers=headers)


def test_a_replayed_signature_is_refused(relay: RelayServer, chain: ChainTasks, db) -> None:
    args = sd_args(seed=17)
    task_id, _ = chain.running_task(args)
    headers, first = _signed_put(relay, task_id, args)
    assert first.status_code == 201
    db.execute("DELETE FROM relay_blobs")
    replay = httpx.put(f"{relay.url}/v1/tasks/{task_id}/args", content=args, headers=headers)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    assert blob_rows(db, task_id) == []


def test_a_stale_timestamp_is_refused(relay: RelayServer, chain: ChainTasks, db) -> None:
    args = sd_args(seed=18)
    task_id, _ = chain.running_task(args)
    _, response = _signed_put(relay, task_id, args, timestamp=int(time.time() * 1000) - 120_000)
    assert response.status_code == 401
    assert "±60s" in response.json()["detail"]
    assert blob_rows(db, task_id) == []


def test_a_signature_by_another_key_is_refused(relay: RelayServer, chain: ChainTasks, db) -> None:
    args = sd_args(seed=19)
    task_id, _ = chain.running_task(args)
    path = f"/v1/tasks/{task_id}/args"
    headers = sign_request(STRANGER.key, "PUT", path, int(time.time() * 1000), args).as_dict()
    headers["X-Hydrogen-Address"] = APP.address  # claims to be the creator
    response = httpx.put(relay.url + path, content=args, headers=headers)
    assert response.status_code == 401
    assert STRANGER.address in response.json()["detail"]
    assert blob_rows(db, task_id) == []


def test_a_signature_over_another_body_is_refused(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    args = sd_args(seed=20)
    task_id, _ = chain.running_task(args)
    path = f"/v1/tasks/{task_id}/args"
    headers = sign_request(APP.key, "PUT", path, int(time.time() * 1000), b"{}").as_dict()
    response = httpx.put(relay.url + path, content=args, headers=headers)
    assert response.status_code == 401
    assert blob_rows(db, task_id) == []


def test_missing_signature_headers_are_named(relay: RelayServer, chain: ChainTasks, db) -> None:
    response = httpx.put(f"{relay.url}/v1/tasks/1/args", content=b"{}")
    assert response.status_code == 401
    assert "X-Hydrogen-Signature" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    ["/v1/tasks/..%2F..%2Fetc/args", "/v1/tasks/01/args", "/v1/tasks/-1/args", "/v1/tasks/1e3/args",
     "/v1/tasks/" + "9" * 79 + "/args", "/v1/tasks/%2e%2e/args"],
)  # fmt: skip
def test_path_tricks_in_task_ids_are_refused(relay: RelayServer, path: str, db) -> None:
    body = b"{}"
    headers = sign_request(APP.key, "PUT", path, int(time.time() * 1000), body).as_dict()
    response = httpx.put(relay.url + path, content=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]
    assert count(db, "relay_blobs") == 0


def test_a_task_id_beyond_uint256_is_refused(relay: RelayServer, db) -> None:
    response = httpx.get(f"{relay.url}/v1/tasks/{2**256}")
    assert response.status_code == 400
    assert "uint256" in response.json()["detail"]


def test_the_async_client_puts_and_gets_args(relay: RelayServer, chain: ChainTasks) -> None:
    args = sd_args(seed=21)
    task_id, nodes = chain.running_task(args)
    node = next(n for n in NODES if n.address == nodes[0])

    async def roundtrip() -> tuple[int, bytes, str]:
        async with (
            AsyncRelayClient(relay.url, private_key=APP.key, retries=0) as app,
            AsyncRelayClient(relay.url, private_key=node.key, retries=0) as as_node,
        ):
            stored = await app.put_args(task_id, args)
            return stored.size, await as_node.get_args(task_id), (await app.task(task_id)).status

    assert asyncio.run(roundtrip()) == (len(args), args, "Running")
