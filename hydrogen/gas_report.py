"""Gas of every contract call, of a whole task, and of node selection as the network grows.

`hydrogen contracts gas-report` runs the scenarios below on a throwaway anvil (or, with
`--rpc-url`, on a running anvil inside an `evm_snapshot` that is reverted afterwards) and
prints what each transaction cost. `ContractsDriver` is the thin transaction layer the report
and the contract tests share: it sends from unlocked or impersonated anvil accounts, so 1,000
nodes join without a private key each.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from hydrogen import contracts
from hydrogen.contracts import TransactionFailed
from hydrogen.devnet.accounts import Role, devnet_account

log = logging.getLogger(__name__)

TX_GAS = 3_000_000
GAS_PRICE_WEI = 2 * 10**9
NODE_VRAM_GB = 24
SD = contracts.TaskTypeId.SD
MODEL_IDS = ("base:sd15",)


@dataclass
class ContractsDriver:
    """Sends transactions to NodeRegistry and TaskManager and returns their receipts."""

    w3: Web3
    registry: Contract
    manager: Contract
    gas_log: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def from_deployment(cls, w3: Web3, record: dict[str, Any]) -> ContractsDriver:
        c = record["contracts"]
        return cls(
            w3,
            w3.eth.contract(address=c["NodeRegistry"]["address"], abi=c["NodeRegistry"]["abi"]),
            w3.eth.contract(address=c["TaskManager"]["address"], abi=c["TaskManager"]["abi"]),
        )

    def rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise TransactionFailed(f"{method}: {response['error']}")
        return response["result"]

    def send(self, sender: str, call: Any, value: int = 0, label: str | None = None) -> Any:
        """Mine `call` from `sender` (anvil's automine) and return the receipt."""
        tx = {
            "from": sender,
            "to": call.address,
            "data": call._encode_transaction_data(),
            "value": hex(value),
            "gas": hex(TX_GAS),
            "gasPrice": hex(GAS_PRICE_WEI),
        }
        tx_hash = self.rpc("eth_sendTransaction", [tx])
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
        if receipt["status"] != 1:
            raise TransactionFailed(f"{call.fn_name} from {sender} reverted: {self._why(tx)}")
        self.gas_log.append((label or call.fn_name, receipt["gasUsed"]))
        return receipt

    def _why(self, tx: dict[str, Any]) -> str:
        response = self.w3.provider.make_request("eth_call", [tx, "latest"])  # type: ignore[arg-type]
        return str(response.get("error", "no revert data"))

    def fund_and_impersonate(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [address, hex(wei)])
        self.rpc("anvil_impersonateAccount", [address])

    def increase_time(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine", [])

    # ---- scenario steps ----

    def join(
        self,
        node: str,
        vram: int = NODE_VRAM_GB,
        stake: int | None = None,
        model_ids: Sequence[str] = MODEL_IDS,
    ) -> Any:
        stake = self.registry.functions.minStake().call() if stake is None else stake
        call = self.registry.functions.join("NVIDIA H100", vram, list(model_ids))
        return self.send(node, call, value=stake)

    def create_task(
        self,
        creator: str,
        fee: int,
        task_type: int = SD,
        min_vram: int = NODE_VRAM_GB,
        args_hash: bytes = b"\x11" * 32,
        model_ids: Sequence[str] = MODEL_IDS,
    ) -> tuple[int, Any]:
        call = self.manager.functions.createTask(task_type, args_hash, list(model_ids), min_vram)
        receipt = self.send(creator, call, value=fee)
        (created,) = self.manager.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
        return created["args"]["taskId"], receipt

    def selected_nodes(self, task_id: int) -> list[str]:
        view = self.manager.functions.getTask(task_id).call()
        return [m[0] for m in view[11]]

    def commit(self, task_id: int, node: str, result: bytes, nonce: bytes) -> Any:
        return self.send(
            node, self.manager.functions.submitCommitment(task_id, commitment(result, nonce))
        )

    def disclose(self, task_id: int, node: str, result: bytes, nonce: bytes) -> Any:
        return self.send(node, self.manager.functions.disclose(task_id, result, nonce))


def commitment(result: bytes, nonce: bytes) -> bytes:
    """keccak256(result ‖ nonce), as `TaskManager.disclose` checks it."""
    return Web3.solidity_keccak(["bytes", "bytes32"], [result, nonce])


def nonce_for(node: str, task_id: int) -> bytes:
    return Web3.solidity_keccak(["address", "uint256"], [node, task_id])


def random_node_addresses(n: int) -> list[str]:
    return [Account.create().address for _ in range(n)]


# ---- a throwaway chain ----


@contextlib.contextmanager
def snapshot(w3: Web3) -> Iterator[None]:
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield
    finally:
        w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


# ---- scenarios ----

SD_RESULT = bytes.fromhex("0123456789abcdeffedcba9876543210")
FEE_WEI = 10**18


def lifecycle_gas(driver: ContractsDriver) -> tuple[list[tuple[str, int]], int]:
    """One task from creation to withdrawal, plus each node call. Returns (calls, task total)."""
    app = devnet_account(Role.APP).address
    relay = devnet_account(Role.RELAY).address
    keeper = devnet_account(Role.KEEPER).address
    nodes = [devnet_account(Role.FIRST_NODE + i).address for i in range(4)]
    driver.gas_log.clear()
    for node in nodes:
        driver.join(node)
    task_id, create = driver.create_task(app, FEE_WEI)
    chosen = driver.selected_nodes(task_id)
    task_gas = create["gasUsed"]
    for node in chosen:
        task_gas += driver.commit(task_id, node, SD_RESULT, nonce_for(node, task_id))["gasUsed"]
    for node in chosen:
        task_gas += driver.disclose(task_id, node, SD_RESULT, nonce_for(node, task_id))["gasUsed"]
    task_gas += driver.send(relay, driver.manager.functions.confirmUpload(task_id))["gasUsed"]
    driver.send(chosen[0], driver.manager.functions.withdraw(), label="withdraw (fee)")

    # Node status calls.
    driver.send(nodes[0], driver.registry.functions.pause())
    driver.send(nodes[0], driver.registry.functions.resume())
    driver.send(nodes[1], driver.registry.functions.quit())
    driver.send(nodes[1], driver.registry.functions.withdraw(), label="withdraw (stake)")

    # A queued task (too few nodes), cancelled; a started task whose nodes never commit.
    queued_id, _ = driver.create_task(app, FEE_WEI, min_vram=141)
    driver.gas_log[-1] = ("createTask (queued)", driver.gas_log[-1][1])
    driver.send(app, driver.manager.functions.cancelTask(queued_id))
    idle_id, _ = driver.create_task(app, FEE_WEI)
    commit_s = driver.manager.functions.timeouts(SD).call()[1]
    driver.increase_time(commit_s + 1)
    driver.send(keeper, driver.manager.functions.expire(idle_id), label="expire (commit)")
    return list(driver.gas_log), task_gas


def create_task_gas(driver: ContractsDriver, node_count: int, tasks: int = 3) -> list[int]:
    """createTask gas for `tasks` tasks on a network of `node_count` registered nodes."""
    app = devnet_account(Role.APP).address
    stake = driver.registry.functions.minStake().call()
    for node in random_node_addresses(node_count):
        driver.fund_and_impersonate(node, stake + 10**18)
        driver.join(node, stake=stake)
    return [driver.create_task(app, FEE_WEI)[1]["gasUsed"] for _ in range(tasks)]


@dataclass(frozen=True)
class GasReport:
    calls: list[tuple[str, int]]
    task_lifecycle: int
    create_task_small: list[int]
    create_task_large: list[int]
    small: int
    large: int

    @property
    def ratio(self) -> float:
        """Mean createTask gas on the large network over the mean on the small one; the same
        sequence of tasks runs on both, so storage warm-up costs cancel out."""
        large = sum(self.create_task_large) / len(self.create_task_large)
        return large / (sum(self.create_task_small) / len(self.create_task_small))

    def render(self) -> str:
        lines = ["call                           gas"]
        seen: dict[str, list[int]] = {}
        for name, gas in self.calls:
            seen.setdefault(name, []).append(gas)
        for name, gases in seen.items():
            spread = (
                f"{min(gases):>9,}"
                if min(gases) == max(gases)
                else (f"{min(gases):>9,} .. {max(gases):,}")
            )
            lines.append(f"{name:<24} {spread}")
        lines.append(
            f"\nwhole task (createTask + 3 commits + 3 disclosures + confirmUpload): "
            f"{self.task_lifecycle:,}"
        )
        lines.append(
            f"\ncreateTask at {self.small:>5} nodes: {', '.join(f'{g:,}' for g in self.create_task_small)}"
        )
        lines.append(
            f"createTask at {self.large:>5} nodes: {', '.join(f'{g:,}' for g in self.create_task_large)}"
        )
        lines.append(f"mean at {self.large} / mean at {self.small}: {self.ratio:.4f}")
        return "\n".join(lines)


def run_report(w3: Web3, small: int = 10, large: int = 1000) -> GasReport:
    """All scenarios on fresh contracts deployed inside a snapshot that is reverted after."""
    deployer = devnet_account(Role.DEPLOYER)
    artifacts = contracts.build()

    def fresh_driver() -> ContractsDriver:
        deployed = contracts.deploy_all(w3, deployer, artifacts)
        return ContractsDriver(
            w3,
            w3.eth.contract(
                address=deployed["NodeRegistry"].address, abi=artifacts["NodeRegistry"].abi
            ),
            w3.eth.contract(
                address=deployed["TaskManager"].address, abi=artifacts["TaskManager"].abi
            ),
        )

    w3.provider.make_request("anvil_autoImpersonateAccount", [True])  # type: ignore[arg-type]
    try:
        with snapshot(w3):
            calls, lifecycle = lifecycle_gas(fresh_driver())
        with snapshot(w3):
            small_gas = create_task_gas(fresh_driver(), small)
        with snapshot(w3):
            large_gas = create_task_gas(fresh_driver(), large)
    finally:
        w3.provider.make_request("anvil_autoImpersonateAccount", [False])  # type: ignore[arg-type]
    return GasReport(calls, lifecycle, small_gas, large_gas, small, large)
