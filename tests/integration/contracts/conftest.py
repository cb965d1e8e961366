"""Fixtures for the contract tests; the helpers live in chain_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chain_helpers import Chain
from web3 import Web3

from hydrogen import contracts
from hydrogen.gas_report import ContractsDriver


@pytest.fixture(scope="session")
def artifacts() -> dict[str, contracts.Artifact]:
    return contracts.build()


@pytest.fixture
def chain(w3: Web3, deployment: dict, chain_snapshot: None) -> Iterator[Chain]:
    base = ContractsDriver.from_deployment(w3, deployment)
    w3.provider.make_request("anvil_autoImpersonateAccount", [True])
    try:
        yield Chain(base.w3, base.registry, base.manager)
    finally:
        w3.provider.make_request("anvil_autoImpersonateAccount", [False])
