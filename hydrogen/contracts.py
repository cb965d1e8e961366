"""Build the Solidity contracts with solcjs and deploy them with web3.

The compiler runs in Node (npm `solc`, offline); artifacts land in `contracts/build/` and are
rebuilt only when a source changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"


class ContractBuildError(RuntimeError):
    """solc rejected a source, or Node could not run it."""


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    compiler: str


def _sources_digest() -> str:
    h = hashlib.sha256()
    for path in sorted([*(CONTRACTS_DIR / "src").rglob("*.sol"), CONTRACTS_DIR / "compile.mjs"]):
        h.update(path.relative_to(CONTRACTS_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def build(force: bool = False) -> dict[str, Artifact]:
    """Compile contracts/src when a source changed since the last build; return the artifacts."""
    stamp = BUILD_DIR / ".sources.sha256"
    digest = _sources_digest()
    if force or not stamp.exists() or stamp.read_text() != digest:
        log.info("compiling contracts with solcjs")
        proc = subprocess.run(
            ["node", str(CONTRACTS_DIR / "compile.mjs"), str(BUILD_DIR)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ContractBuildError(f"solc failed:\n{proc.stderr.strip()}")
        stamp.write_text(digest)
    return load_artifacts()


def load_artifacts() -> dict[str, Artifact]:
    artifacts = {}
    for path in sorted(BUILD_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        artifacts[data["contractName"]] = Artifact(
            name=data["contractName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            compiler=data["compiler"],
        )
    return artifacts


@dataclass(frozen=True)
class Deployed:
    name: str
    address: str
    tx_hash: str
    block_number: int


def deploy(w3: Web3, deployer: LocalAccount, artifact: Artifact, *args: Any) -> Deployed:
    """Deploy one contract, signed locally by `deployer`, and wait for its receipt."""
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(*args).build_transaction(
        {
            "from": deployer.address,
            "nonce": w3.eth.get_transaction_count(deployer.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    signed = deployer.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
    if receipt["status"] != 1:
        raise ContractBuildError(f"deploying {artifact.name} reverted in tx {tx_hash.hex()}")
    return Deployed(
        name=artifact.name,
        address=receipt["contractAddress"],
        tx_hash="0x" + tx_hash.hex().removeprefix("0x"),
        block_number=receipt["blockNumber"],
    )


def deployment_record(w3: Web3, deployer: LocalAccount, rpc_url: str) -> dict[str, Any]:
    """Build, deploy and describe the network: what `deployment.json` holds."""
    artifacts = build()
    deployed = deploy_all(w3, deployer, artifacts)
    return {
        "chainId": w3.eth.chain_id,
        "rpcUrl": rpc_url,
        "deployer": deployer.address,
        "compiler": next(iter(artifacts.values())).compiler,
        "contracts": {
            name: {
                "address": d.address,
                "txHash": d.tx_hash,
                "blockNumber": d.block_number,
                "abi": artifacts[name].abi,
            }
            for name, d in deployed.items()
        },
    }


def is_deployed(w3: Web3, record: dict[str, Any]) -> bool:
    """Whether every contract of a deployment record has code on the chain `w3` talks to."""
    return record.get("chainId") == w3.eth.chain_id and all(
        w3.eth.get_code(c["address"]) for c in record["contracts"].values()
    )


def deploy_all(
    w3: Web3, deployer: LocalAccount, artifacts: dict[str, Artifact]
) -> dict[str, Deployed]:
    """Deploy the network's contracts in dependency order and wire them together."""
    return {"DevnetBeacon": deploy(w3, deployer, artifacts["DevnetBeacon"])}
