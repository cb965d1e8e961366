"""Helpers of the relay tests: the server handle, tasks on chain, images, blobs in Postgres."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import uvicorn
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from PIL import Image

from hydrogen.devnet.accounts import Role, devnet_account, node_account
from hydrogen.gas_report import ContractsDriver, nonce_for
from relay_api.client import RelayClient
from relay_api.settings import RelaySettings
from schemas.phash import phash_png

APP: LocalAccount = devnet_account(Role.APP)
NODES: list[LocalAccount] = [node_account(i) for i in range(3)]
STRANGER: LocalAccount = devnet_account(19)
FEE = 10**18
SD = 0


@dataclass
class RelayServer:
    url: str
    settings: RelaySettings
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, account: LocalAccount | None = None, **kwargs: Any) -> RelayClient:
        key = account.key if account is not None else None
        return RelayClient(self.url, private_key=key, retries=0, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@dataclass
class ChainTasks:
    driver: ContractsDriver
    chain_id: int

    def running_task(self, args: bytes) -> tuple[int, list[str]]:
        """A task of APP with keccak(args) as its argsHash, started on our 3 nodes."""
        for node in NODES:
            self.driver.join(node.address)
        task_id, _ = self.driver.create_task(APP.address, FEE, task_type=SD, args_hash=keccak(args))
        return task_id, self.driver.selected_nodes(task_id)

    def queued_task(self, args: bytes) -> int:
        task_id, _ = self.driver.create_task(APP.address, FEE, task_type=SD, args_hash=keccak(args))
        return task_id

    def validate(self, task_id: int, results: dict[str, bytes]) -> str:
        """Every node commits then discloses its result; returns the result node."""
        for node, result in results.items():
            self.driver.commit(task_id, node, result, nonce_for(node, task_id))
        for node, result in results.items():
            self.driver.disclose(task_id, node, result, nonce_for(node, task_id))
        view = self.driver.manager.functions.getTask(task_id).call()
        assert view[2] == 4, f"task {task_id} is in status {view[2]}, not Validated"
        return str(view[10])

    def threshold(self) -> int:
        return int(self.driver.manager.functions.threshold(SD).call())


def png(seed: int, size: int = 64) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).resize((size, size), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def result_of(*images: bytes) -> bytes:
    return b"".join(phash_png(i) for i in images)


def blob_rows(db: psycopg.Connection[Any], task_id: int | str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT kind, node, image_index, size FROM relay_blobs WHERE task_id = %s ORDER BY kind, node, image_index",
        (str(task_id),),
    ).fetchall()


def count(db: psycopg.Connection[Any], table: str) -> int:
    (n,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[misc]
    return int(n)
