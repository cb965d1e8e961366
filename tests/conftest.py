"""Test-session wiring: one devnet of real services for all integration and e2e tests.

The devnet lives in `.devnet-test/` (or $HYDROGEN_TEST_DEVNET_DIR) on ports that are free
when the session starts, so it runs beside a developer's own devnet. It is wiped at the start
of the session and stopped at the end: tests stop what they start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

from hydrogen.devnet.layout import Ports
from hydrogen.devnet.objectstore import SeaweedS3
from hydrogen.devnet.supervisor import Devnet
from relay_api.blobstore import S3BlobStore

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO_ROOT / "tests").parts
        if parts[0] in ("integration", "e2e"):
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    root = Path(os.environ.get("HYDROGEN_TEST_DEVNET_DIR", REPO_ROOT / ".devnet-test"))
    if root.exists():
        Devnet.open(root).reset()  # leftovers of an interrupted session
    net = Devnet.open(root, s3=True, ports=Ports.free())
    try:
        net.up()
        yield net
    finally:
        net.down()


@pytest.fixture(scope="session")
def kafka_bootstrap(devnet: Devnet) -> str:
    return devnet.kafka.address


@pytest.fixture(scope="session")
def pg_dsn(devnet: Devnet) -> str:
    return devnet.postgres.dsn


@pytest.fixture(scope="session")
def w3(devnet: Devnet) -> Web3:
    return Web3(HTTPProvider(devnet.anvil.address, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="session")
def deployment(devnet: Devnet) -> dict:
    """The devnet's deployment record: chainId, rpcUrl and {name: {address, abi, ...}}."""
    return json.loads(devnet.layout.deployment_file.read_text())


@pytest.fixture(scope="session")
def s3_service(devnet: Devnet) -> SeaweedS3:
    assert isinstance(devnet.objectstore, SeaweedS3)
    return devnet.objectstore


@pytest.fixture
def s3_store(s3_service: SeaweedS3) -> S3BlobStore:
    return s3_service.store()


@pytest.fixture
def chain_snapshot(w3: Web3) -> Iterator[None]:
    """Run a test on a copy of the chain: whatever it mines is reverted afterwards."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield
    finally:
        w3.provider.make_request("evm_revert", [snapshot])
