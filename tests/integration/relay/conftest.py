"""A relay of our own for these tests, served by uvicorn on a free port (real HTTP) against
the session's Postgres, SeaweedFS (S3) and Kafka, and the devnet's chain.

Each test runs on a copy of the chain (`evm_snapshot`, reverted after it) and with the
relay's own tables emptied, so task ids that repeat across tests never meet old blobs.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from relay_helpers import ChainTasks, RelayServer
from web3 import Web3

from hydrogen.devnet.objectstore import BUCKET, SeaweedS3
from hydrogen.devnet.supervisor import Devnet
from hydrogen.gas_report import ContractsDriver
from relay_api.app import create_app
from relay_api.settings import RelaySettings, StoreKind

RELAY_TABLES = (
    "relay_blobs",
    "relay_used_signatures",
    "relay_managed_tasks",
    "relay_api_keys",
    "relay_deliveries",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def relay_settings(
    devnet: Devnet, s3: SeaweedS3 | None, blob_dir: Path, **overrides: Any
) -> RelaySettings:
    base: dict[str, Any] = {
        "port": free_port(),
        "pg_dsn": devnet.postgres.dsn,
        "kafka_bootstrap": devnet.kafka.address,
        "rpc_url": devnet.anvil.address,
        "deployment_file": devnet.layout.deployment_file,
        "status_cache_s": 0,
        "delivery_interval_s": 0.2,
        "log_json": False,
        "max_args_bytes": 64 * 1024,
        "max_image_bytes": 512 * 1024,
        "blob_dir": blob_dir,
    }
    if s3 is not None:
        creds = s3.credentials()
        base |= {
            "store": StoreKind.S3,
            "s3_endpoint": s3.address,
            "s3_bucket": BUCKET,
            "s3_access_key": creds.access_key,
            "s3_secret_key": creds.secret_key,
        }
    return RelaySettings(**(base | overrides))


def start_server(settings: RelaySettings) -> RelayServer:
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the relay did not start")
        time.sleep(0.02)
    return RelayServer(f"http://127.0.0.1:{settings.port}", settings, server, thread)


@pytest.fixture(scope="session")
def relay(
    devnet: Devnet, s3_service: SeaweedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayServer]:
    """The relay with blobs in SeaweedFS (S3)."""
    server = start_server(relay_settings(devnet, s3_service, tmp_path_factory.mktemp("blobs")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def presigning_relay(
    devnet: Devnet, s3_service: SeaweedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayServer]:
    """The relay with blobs in S3, sending downloads to presigned URLs."""
    settings = relay_settings(
        devnet, s3_service, tmp_path_factory.mktemp("presigned-blobs"), s3_presign_s=300
    )
    server = start_server(settings)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fs_relay(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayServer]:
    """The relay with blobs in a folder (the default store)."""
    server = start_server(relay_settings(devnet, None, tmp_path_factory.mktemp("fs-blobs")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def clean_relay_tables(pg_dsn: str) -> Iterator[None]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(RELAY_TABLES)}")
        conn.execute("DELETE FROM tasks; DELETE FROM nodes")
    yield


@pytest.fixture
def chain(w3: Web3, deployment: dict, chain_snapshot: None) -> Iterator[ChainTasks]:
    driver = ContractsDriver.from_deployment(w3, deployment)
    w3.provider.make_request("anvil_autoImpersonateAccount", [True])  # type: ignore[arg-type]
    try:
        yield ChainTasks(driver, deployment["chainId"])
    finally:
        w3.provider.make_request("anvil_autoImpersonateAccount", [False])  # type: ignore[arg-type]


@pytest.fixture
def db(pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


def sd_args(seed: int = 1, num_images: int = 1, **extra: Any) -> bytes:
    args = {
        "version": "2.5.0",
        "base_model": {"name": "tiny/sd"},
        "prompt": "a red cube",
        "task_config": {
            "num_images": num_images,
            "steps": 10,
            "seed": seed,
            "image_width": 64,
            "image_height": 64,
        },
        **extra,
    }
    return json.dumps(args).encode()
