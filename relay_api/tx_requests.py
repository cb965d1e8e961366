"""Transactions the relay asks chain_bridge.submit to send, as `chain.tx-requests` records.

Request ids start with `relay:` so that no other component mistakes them for its own (the
streams route outcomes of ids that start with a chain id to their tasks):

    relay:{chain_id}:{task_id}:confirmUpload     the delivery of a task was checked
    relay:{chain_id}:managed:{uuid}              createTask for a managed-mode API key

The same decision always yields the same id, and the submitter sends an id once, so asking
again after a crash or a retry never sends a second transaction.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio.to_thread
from confluent_kafka import KafkaException, Producer

from relay_api.errors import Unavailable
from schemas.catalog import CHAIN_TX_REQUESTS, PARTITIONER
from schemas.codec import Codec

TASK_MANAGER = "TaskManager"
ORIGIN = "relay_api"
FLUSH_TIMEOUT_S = 10.0


def confirm_upload_request_id(chain_id: int, task_id: str) -> str:
    return f"relay:{chain_id}:{task_id}:confirmUpload"


def managed_request_id(chain_id: int, token: str) -> str:
    return f"relay:{chain_id}:managed:{token}"


def tx_record(
    request_id: str,
    signer: str,
    function: str,
    args: list[Any],
    now_ms: int,
    value_wei: int = 0,
    not_after_ms: int | None = None,
) -> dict[str, Any]:
    """A TxRequest record; `args` as its args_json wants them (bytes as 0x-hex, integers as
    decimal strings)."""
    return {
        "request_id": request_id,
        "signer": signer,
        "contract": TASK_MANAGER,
        "function": function,
        "args_json": json.dumps(args, separators=(",", ":")),
        "value_wei": str(value_wei),
        "not_after": not_after_ms,
        "requested_at": now_ms,
        "origin": ORIGIN,
    }


class TxRequester:
    def __init__(self, bootstrap: str, codec: Codec, topic: str = CHAIN_TX_REQUESTS.name) -> None:
        self.codec = codec
        self.topic = topic
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "partitioner": PARTITIONER,
                "linger.ms": 0,
            }
        )

    async def request(self, record: dict[str, Any]) -> None:
        """Publish `record` and wait until Kafka has it."""
        value = self.codec.encode("TxRequest", record)
        errors: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        def send() -> int:
            self._producer.produce(
                self.topic, key=record["signer"].encode(), value=value, on_delivery=delivered
            )
            return int(self._producer.flush(FLUSH_TIMEOUT_S))

        try:
            left = await anyio.to_thread.run_sync(send)
        except (KafkaException, BufferError) as exc:
            raise Unavailable(
                f"could not publish tx request {record['request_id']}: {exc}"
            ) from exc
        if left or errors:
            raise Unavailable(
                f"tx request {record['request_id']} not acknowledged by Kafka: "
                f"{'; '.join(errors) or 'timed out'}"
            )

    def close(self) -> None:
        self._producer.flush(FLUSH_TIMEOUT_S)


def now_ms() -> int:
    return int(time.time() * 1000)
