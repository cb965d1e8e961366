"""anvil (npm @foundry-rs/anvil): a local EVM chain whose accounts come from the test mnemonic."""

from __future__ import annotations

import contextlib
import glob
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from web3 import HTTPProvider, Web3

from hydrogen import contracts
from hydrogen.devnet.accounts import ANVIL_ACCOUNTS, ANVIL_MNEMONIC, Role, devnet_account
from hydrogen.devnet.layout import HOST, Layout, Ports
from hydrogen.devnet.service import DevnetError, Health, ProcessService

CHAIN_ID = 31337


MAX_PERSISTED_STATES = 4_096  # blocks whose state old reads (eth_call at a block) may reach


def anvil_binary() -> Path:
    pattern = str(contracts.REPO_ROOT / "node_modules/@foundry-rs/anvil-*/bin/anvil")
    found = glob.glob(pattern)
    if not found:
        raise DevnetError(f"anvil not found at {pattern}; run scripts/bootstrap.sh (npm ci)")
    return Path(found[0])


class Anvil(ProcessService):
    name = "anvil"

    def __init__(self, layout: Layout, port: int, chain_id: int = CHAIN_ID) -> None:
        super().__init__(layout)
        self.port = port
        self.chain_id = chain_id

    @property
    def address(self) -> str:
        return f"http://{HOST}:{self.port}"

    def argv(self) -> Sequence[str]:
        state = self.layout.data("anvil") / "state.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        return [
            str(anvil_binary()),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--mnemonic",
            ANVIL_MNEMONIC,
            "--accounts",
            str(ANVIL_ACCOUNTS),
            # Loaded at start and written at a clean stop, so `down` then `up` keeps the chain
            # (and what the bridge has already read from it).
            "--state",
            str(state),
            # Past states beyond those in memory go to disk: in the devnet's folder, where
            # `reset` and throwaway chains remove them, not ~/.foundry/anvil/tmp, where every
            # anvil ever stopped leaves its own (tens of GB after a few test runs).
            "--cache-path",
            str(self.layout.data("anvil") / "states"),
            "--max-persisted-states",
            str(MAX_PERSISTED_STATES),
        ]

    def health(self) -> Health:
        try:
            r = httpx.post(
                self.address,
                json=[
                    {"jsonrpc": "2.0", "id": 1, "method": "web3_clientVersion", "params": []},
                    {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
                ],
                timeout=2,
            )
            version, block = (item["result"] for item in sorted(r.json(), key=lambda i: i["id"]))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return Health(False, f"not reachable: {exc}")
        return Health(True, f"{version}, chain {self.chain_id}, block {int(block, 16)}")

    def web3(self) -> Web3:
        return Web3(HTTPProvider(self.address, request_kwargs={"timeout": 30}))

    def prepare(self) -> None:
        """Build the contracts and deploy them, unless the recorded deployment is on chain."""
        w3 = self.web3()
        target = self.layout.deployment_file
        if target.exists() and contracts.is_deployed(w3, json.loads(target.read_text())):
            return
        record = contracts.deployment_record(w3, devnet_account(Role.DEPLOYER), self.address)
        target.write_text(json.dumps(record, indent=1))


@contextlib.contextmanager
def throwaway_anvil(chain_id: int = CHAIN_ID) -> Iterator[Anvil]:
    """An anvil of our own on a free port and a temporary folder, stopped when the block ends
    (for measurements and tests that must not touch the devnet's chain)."""
    with tempfile.TemporaryDirectory(prefix="hydrogen-anvil-") as tmp:
        anvil = Anvil(Layout(Path(tmp)), Ports.free().anvil, chain_id=chain_id)
        anvil.start()
        try:
            anvil.wait_healthy(20)
            yield anvil
        finally:
            anvil.stop()


@dataclass(frozen=True)
class DeployedChain:
    anvil: Anvil
    w3: Web3
    record: dict[str, Any]  # the deployment record, as `deployment.json` holds it
    deployment_file: Path


@contextlib.contextmanager
def throwaway_deployment(chain_id: int) -> Iterator[DeployedChain]:
    """A throwaway anvil with the network's contracts deployed and its deployment file
    written: a chain of its own for a test or a benchmark (its chain id keeps its events,
    cursors and transactional ids apart from every other chain's)."""
    with throwaway_anvil(chain_id) as anvil, tempfile.TemporaryDirectory() as tmp:
        w3 = anvil.web3()
        record = contracts.deployment_record(w3, devnet_account(Role.DEPLOYER), anvil.address)
        deployment_file = Path(tmp) / "deployment.json"
        deployment_file.write_text(json.dumps(record))
        yield DeployedChain(anvil, w3, record, deployment_file)
