"""Staging results, the p-hash check, the confirmUpload request, and downloads."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from conftest import sd_args
from relay_helpers import APP, NODES, STRANGER, ChainTasks, RelayServer, blob_rows, png, result_of

from relay_api.client import RelayHTTPError
from schemas.catalog import CHAIN_TX_REQUESTS
from schemas.codec import Codec
from schemas.request_signing import sign_request


def account_of(address: str):
    return next(n for n in NODES if n.address == address)


def validated_task(
    chain: ChainTasks, relay: RelayServer, images: list[bytes]
) -> tuple[int, str, list[str]]:
    args = sd_args(seed=len(images) * 100 + images[0][-20], num_images=len(images))
    task_id, nodes = chain.running_task(args)
    relay.client(APP).put_args(task_id, args)
    result = result_of(*images)
    result_node = chain.validate(task_id, dict.fromkeys(nodes, result))
    return task_id, result_node, nodes


def tx_requests(
    kafka_bootstrap: str, request_id: str, timeout_s: float = 10.0, since_s: float = 60.0
) -> list[dict]:
    """The TxRequests with this id published in the last `since_s` seconds (task ids repeat
    across tests, since each test's chain is reverted)."""
    since_ms = int((time.time() - since_s) * 1000)
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": "relay-test",
            "enable.auto.commit": False,
        }
    )
    consumer.assign(
        [
            TopicPartition(CHAIN_TX_REQUESTS.name, p, OFFSET_BEGINNING)
            for p in range(CHAIN_TX_REQUESTS.partitions)
        ]
    )
    codec, found = Codec(), []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for m in consumer.consume(500, 0.5):
                if m.error() is None and m.timestamp()[1] >= since_ms:
                    _, record = codec.decode(m.value(), expect="TxRequest")
                    if record["request_id"] == request_id:
                        found.append(record)
            if found:
                break
    finally:
        consumer.close()
    return found


def test_the_result_nodes_images_are_checked_confirmed_and_downloadable(
    relay: RelayServer, chain: ChainTasks, db, kafka_bootstrap: str
) -> None:
    started = time.monotonic()
    images = [png(1), png(2)]
    task_id, result_node, _ = validated_task(chain, relay, images)
    node = relay.client(account_of(result_node))
    first = node.put_result(task_id, result_node, 0, images[0])
    assert not first.delivered
    second = node.put_result(task_id, result_node, 1, images[1])
    assert second.delivered
    assert blob_rows(db, task_id) == [
        ("args", "", 0, blob_rows(db, task_id)[0][3]),
        ("result", result_node, 0, len(images[0])),
        ("result", result_node, 1, len(images[1])),
    ]
    request_id = f"relay:{chain.chain_id}:{task_id}:confirmUpload"
    (request,) = tx_requests(kafka_bootstrap, request_id, since_s=time.monotonic() - started)
    assert request["function"] == "confirmUpload"
    assert request["signer"] == relay.settings.relay_address
    assert request["args_json"] == f'["{task_id}"]'
    creator = relay.client(APP)
    assert creator.download_result(task_id, 0) == images[0]
    assert creator.download_result(task_id, 1) == images[1]


def test_images_staged_before_validation_are_delivered_by_the_background_check(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    images = [png(3)]
    args = sd_args(seed=33)
    task_id, nodes = chain.running_task(args)
    for address in nodes:  # every node stages while the task is still running
        relay.client(account_of(address)).put_result(task_id, address, 0, images[0])
    assert len(blob_rows(db, task_id)) == 3
    chain.validate(task_id, dict.fromkeys(nodes, result_of(*images)))
    # The read model is what the background check looks at; project the validation into it.
    db.execute(
        """INSERT INTO tasks (chain_id, task_id, status, creator, task_type, selected_nodes,
                              result_node, result, version)
           VALUES (%s, %s, 'Validated', %s, 'SD', %s, %s, %s, 1)""",
        (
            chain.chain_id,
            str(task_id),
            APP.address,
            nodes,
            chain.driver.manager.functions.getTask(task_id).call()[10],
            result_of(*images),
        ),
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(r[0] == "staged" for r in blob_rows(db, task_id)):
        time.sleep(0.1)
    rows = blob_rows(db, task_id)
    result_node = chain.driver.manager.functions.getTask(task_id).call()[10]
    assert rows == [("result", result_node, 0, len(images[0]))], (
        "other nodes' staged images are discarded"
    )
    assert relay.client(APP).download_result(task_id, 0) == images[0]


def test_an_image_that_does_not_match_the_validated_phash_is_refused(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    task_id, result_node, _ = validated_task(chain, relay, [png(4)])
    with pytest.raises(RelayHTTPError) as err:
        relay.client(account_of(result_node)).put_result(task_id, result_node, 0, png(5))
    assert err.value.status == 422
    assert "bits from the validated" in err.value.detail
    assert [r[0] for r in blob_rows(db, task_id)] == ["args"]


def test_a_node_that_does_not_deliver_cannot_stage_after_validation(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    task_id, result_node, nodes = validated_task(chain, relay, [png(6)])
    other = next(n for n in nodes if n != result_node)
    with pytest.raises(RelayHTTPError) as err:
        relay.client(account_of(other)).put_result(task_id, other, 0, png(6))
    assert err.value.status == 409
    assert [r[0] for r in blob_rows(db, task_id)] == ["args"]


def test_the_creator_cannot_download_before_delivery(relay: RelayServer, chain: ChainTasks) -> None:
    task_id, _, _ = validated_task(chain, relay, [png(7)])
    with pytest.raises(RelayHTTPError) as err:
        relay.client(APP).download_result(task_id, 0)
    assert err.value.status == 409
    assert "not delivered" in err.value.detail


def test_only_the_creator_downloads(relay: RelayServer, chain: ChainTasks) -> None:
    images = [png(8)]
    task_id, result_node, _ = validated_task(chain, relay, images)
    relay.client(account_of(result_node)).put_result(task_id, result_node, 0, images[0])
    with pytest.raises(RelayHTTPError) as err:
        relay.client(account_of(result_node)).download_result(task_id, 0)
    assert err.value.status == 403


def test_a_stranger_cannot_stage_results(relay: RelayServer, chain: ChainTasks, db) -> None:
    task_id, _ = chain.running_task(sd_args(seed=40))
    with pytest.raises(RelayHTTPError) as err:
        relay.client(STRANGER).put_result(task_id, STRANGER.address, 0, png(9))
    assert err.value.status == 403
    assert blob_rows(db, task_id) == []


def test_a_node_cannot_stage_in_another_nodes_name(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    task_id, nodes = chain.running_task(sd_args(seed=41))
    with pytest.raises(RelayHTTPError) as err:
        relay.client(account_of(nodes[0])).put_result(task_id, nodes[1], 0, png(10))
    assert err.value.status == 403
    assert blob_rows(db, task_id) == []


def test_a_file_that_is_not_a_png_is_refused(relay: RelayServer, chain: ChainTasks, db) -> None:
    task_id, nodes = chain.running_task(sd_args(seed=42))
    with pytest.raises(RelayHTTPError) as err:
        relay.client(account_of(nodes[0])).put_result(task_id, nodes[0], 0, b"GIF89a....")
    assert err.value.status == 422
    assert blob_rows(db, task_id) == []


def test_an_oversized_image_is_refused_with_413(relay: RelayServer, chain: ChainTasks, db) -> None:
    task_id, nodes = chain.running_task(sd_args(seed=43))
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * relay.settings.max_image_bytes
    with pytest.raises(RelayHTTPError) as err:
        relay.client(account_of(nodes[0])).put_result(task_id, nodes[0], 0, big)
    assert err.value.status == 413
    assert blob_rows(db, task_id) == []


def test_an_image_index_beyond_the_limit_is_refused(
    relay: RelayServer, chain: ChainTasks, db
) -> None:
    task_id, nodes = chain.running_task(sd_args(seed=44))
    with pytest.raises(RelayHTTPError) as err:
        relay.client(account_of(nodes[0])).put_result(
            task_id, nodes[0], relay.settings.max_images, png(11)
        )
    assert err.value.status == 400
    assert blob_rows(db, task_id) == []


# ---- downloads: ETag, If-None-Match, Range ----


@pytest.fixture(params=["s3", "filesystem"])
def any_relay(request: pytest.FixtureRequest) -> RelayServer:
    return request.getfixturevalue("relay" if request.param == "s3" else "fs_relay")


def _delivered(chain: ChainTasks, relay: RelayServer, image: bytes) -> int:
    task_id, result_node, _ = validated_task(chain, relay, [image])
    relay.client(account_of(result_node)).put_result(task_id, result_node, 0, image)
    return task_id


def _get(relay: RelayServer, path: str, **headers: str) -> httpx.Response:
    signed = sign_request(APP.key, "GET", path, int(time.time() * 1000), b"").as_dict()
    return httpx.get(relay.url + path, headers={**signed, **headers})


def test_a_download_has_a_strong_etag_and_answers_if_none_match_with_304(
    any_relay: RelayServer, chain: ChainTasks
) -> None:
    image = png(12)
    task_id = _delivered(chain, any_relay, image)
    full = _get(any_relay, f"/v1/tasks/{task_id}/results/0")
    assert full.status_code == 200 and full.content == image
    etag = full.headers["etag"]
    assert etag.startswith('"') and len(etag) == 66
    again = _get(any_relay, f"/v1/tasks/{task_id}/results/0", **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    ("header", "span"),
    [("bytes=0-9", (0, 10)), ("bytes=10-", (10, None)), ("bytes=-5", (-5, None))],
)
def test_a_range_gets_206_with_those_bytes(
    any_relay: RelayServer, chain: ChainTasks, header: str, span: tuple
) -> None:
    image = png(13)
    task_id = _delivered(chain, any_relay, image)
    part = _get(any_relay, f"/v1/tasks/{task_id}/results/0", Range=header)
    assert part.status_code == 206
    assert part.content == image[slice(*span)]
    assert part.headers["content-range"].endswith(f"/{len(image)}")


def test_a_range_past_the_end_is_416(any_relay: RelayServer, chain: ChainTasks) -> None:
    image = png(14)
    task_id = _delivered(chain, any_relay, image)
    response = _get(any_relay, f"/v1/tasks/{task_id}/results/0", Range=f"bytes={len(image) + 10}-")
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(image)}"


def test_with_presigning_a_download_is_sent_to_the_object_store_and_the_client_follows(
    presigning_relay: RelayServer, chain: ChainTasks
) -> None:
    image = png(15)
    task_id = _delivered(chain, presigning_relay, image)
    path = f"/v1/tasks/{task_id}/results/0"

    answer = _get(presigning_relay, path)
    assert answer.status_code == 307
    location = answer.headers["location"]
    s3 = presigning_relay.settings.s3_endpoint
    assert s3 is not None and location.startswith(s3)  # served by the store, not the relay
    assert "X-Amz-Signature=" in location
    assert answer.headers["etag"] == f'"{hashlib.sha256(image).hexdigest()}"'
    assert httpx.get(location).content == image  # the presigned URL needs no other credential

    assert presigning_relay.client(APP).download_result(task_id, 0) == image
    stranger = presigning_relay.client(STRANGER)
    with pytest.raises(RelayHTTPError) as err:
        stranger.download_result(task_id, 0)
    assert err.value.status == 403  # the relay still decides who is sent there
