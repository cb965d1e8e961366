"""Build the Solidity contracts with solcjs and deploy them with web3.

The compiler runs in Node (npm `solc`, offline); artifacts land in `contracts/build/` and are
rebuilt only when a source changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt

from hydrogen.devnet.accounts import Role, devnet_account

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"


class ContractBuildError(RuntimeError):
    """solc rejected a source, or Node could not run it."""


class TransactionFailed(RuntimeError):
    """A transaction reverted; the message names the call and the revert data."""


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
        raise TransactionFailed(f"deploying {artifact.name} reverted in tx {tx_hash.hex()}")
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
        # What was compiled: a record of older sources names other contracts or ABIs.
        "sources": _sources_digest(),
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
    """Whether a deployment record describes the contracts as they are in contracts/src now,
    and every one of them has code on the chain `w3` talks to. A devnet made before the
    sources changed is deployed again rather than served with a stale record."""
    return (
        record.get("chainId") == w3.eth.chain_id
        and record.get("sources") == _sources_digest()
        and all(w3.eth.get_code(c["address"]) for c in record["contracts"].values())
    )


class TaskTypeId(IntEnum):
    """`TaskType` in contracts/src/HydrogenTypes.sol."""

    SD = 0
    LLM = 1


@dataclass(frozen=True)
class PhaseTimeouts:
    """Seconds each phase of a task may last (`TaskManager.Timeouts`)."""

    queue: int = 6 * 3600  # Crynux's queue timeout
    commit: int = 15 * 60  # run the model and commit; Crynux Hydrogen's task timeout
    disclose: int = 5 * 60  # one transaction, once every commitment is in
    upload: int = 10 * 60  # Crynux's result upload timeout

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.queue, self.commit, self.disclose, self.upload)


@dataclass(frozen=True)
class NetworkParams:
    """What `deploy_all` sets on the contracts; a caller may override any of it."""

    min_stake_wei: int = 400 * 10**18  # Crynux's minimum stake, in the native currency
    # VRAM tier floors in GB; a task's requirement is rounded up to one of them.
    vram_tier_floors: tuple[int, ...] = (8, 12, 16, 24, 40, 48, 80, 141)
    # Most differing p-hash bits per image for two SD results to agree (Crynux Hydrogen: 5).
    thresholds: dict[TaskTypeId, int] = field(
        default_factory=lambda: {TaskTypeId.SD: 5, TaskTypeId.LLM: 0}
    )
    timeouts: dict[TaskTypeId, PhaseTimeouts] = field(
        default_factory=lambda: {TaskTypeId.SD: PhaseTimeouts(), TaskTypeId.LLM: PhaseTimeouts()}
    )
    miss_fine_bps: int = 1000  # share of stake fined for a missed disclosure or upload
    relay: str | None = None  # default: the devnet relay account
    owner: str | None = None  # default: the deployer


def send_transaction(w3: Web3, signer: LocalAccount, call: Any, value: int = 0) -> TxReceipt:
    """Sign `call` (a bound contract function) locally, send it and wait for a success."""
    tx = call.build_transaction(
        {
            "from": signer.address,
            "value": value,
            "nonce": w3.eth.get_transaction_count(signer.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    tx_hash = w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
    if receipt["status"] != 1:
        raise TransactionFailed(f"{call.fn_name} reverted in tx {tx_hash.hex()}")
    return receipt


def deploy_all(
    w3: Web3,
    deployer: LocalAccount,
    artifacts: dict[str, Artifact],
    params: NetworkParams | None = None,
) -> dict[str, Deployed]:
    """Deploy the network's contracts in dependency order and wire them together."""
    p = params or NetworkParams()
    owner = p.owner or deployer.address
    relay = p.relay or devnet_account(Role.RELAY).address
    deployed = {"DevnetBeacon": deploy(w3, deployer, artifacts["DevnetBeacon"])}
    registry = deploy(
        w3,
        deployer,
        artifacts["NodeRegistry"],
        deployer.address,
        p.min_stake_wei,
        list(p.vram_tier_floors),
    )
    manager = deploy(
        w3, deployer, artifacts["TaskManager"], deployer.address, registry.address, relay
    )
    deployed["NodeRegistry"] = registry
    deployed["TaskManager"] = manager

    reg = w3.eth.contract(address=registry.address, abi=artifacts["NodeRegistry"].abi)
    tm = w3.eth.contract(address=manager.address, abi=artifacts["TaskManager"].abi)
    send_transaction(w3, deployer, reg.functions.setTaskManager(manager.address))
    for task_type, bits in p.thresholds.items():
        send_transaction(w3, deployer, tm.functions.setThreshold(int(task_type), bits))
    for task_type, timeouts in p.timeouts.items():
        send_transaction(
            w3, deployer, tm.functions.setTimeouts(int(task_type), timeouts.as_tuple())
        )
    send_transaction(w3, deployer, tm.functions.setMissFine(p.miss_fine_bps))
    # Ownership moves last, so the deployer could do the wiring above.
    if owner != deployer.address:
        send_transaction(w3, deployer, reg.functions.transferOwnership(owner))
        send_transaction(w3, deployer, tm.functions.transferOwnership(owner))
    return deployed
