"""Helpers for the contract tests: a driver on the devnet's deployment, node joins, a task run
through commit-reveal, revert decoding, and the books every test checks to the wei."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from web3.logs import DISCARD

from hydrogen.devnet.accounts import ANVIL_ACCOUNTS, Role, devnet_account
from hydrogen.gas_report import ContractsDriver, commitment, nonce_for
from relay_api.chain_reader import output_fields

# Enum values of contracts/src/HydrogenTypes.sol.
SD, LLM = 0, 1
NODE_AVAILABLE, NODE_BUSY, NODE_PAUSED, NODE_PENDING_PAUSE, NODE_PENDING_QUIT = 1, 2, 3, 4, 5
NODE_QUIT, NODE_SLASHED = 6, 7
QUEUED, RUNNING, DISCLOSING, VALIDATED, COMPLETED, ABORTED, CANCELLED = 1, 2, 3, 4, 5, 6, 7
TIMEOUT, NO_CONSENSUS, ARGS_INVALID, UPLOAD_TIMEOUT, CREATOR_CANCELLED = 1, 2, 3, 4, 5
OUTVOTED, MISSED_COMMIT, MISSED_DISCLOSE, MISSED_UPLOAD = 0, 1, 2, 3

FEE = 10**18 + 1  # odd, so the split leaves a remainder to account for
NODE_ADDRESSES = [
    devnet_account(i).address for i in range(Role.FIRST_NODE, ANVIL_ACCOUNTS)
]  # 16 unlocked, funded nodes
APP = devnet_account(Role.APP).address
RELAY = devnet_account(Role.RELAY).address
KEEPER = devnet_account(Role.KEEPER).address
OWNER = devnet_account(Role.DEPLOYER).address

PHASH_A = bytes.fromhex("0123456789abcdeffedcba9876543210")


def flip_bits(result: bytes, image: int, bits: int) -> bytes:
    """`result` with the lowest `bits` bits of image `image`'s p-hash flipped."""
    b = bytearray(result)
    word = int.from_bytes(b[image * 8 : image * 8 + 8], "big") ^ ((1 << bits) - 1)
    b[image * 8 : image * 8 + 8] = word.to_bytes(8, "big")
    return bytes(b)


class Reverted(AssertionError):
    pass


@dataclass
class Chain(ContractsDriver):
    """The driver plus what tests need to look at: reverts by error name, events, statuses."""

    def error_names(self) -> dict[bytes, str]:
        names = {}
        for contract in (self.registry, self.manager):
            for item in contract.abi:
                if item["type"] == "error":
                    sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                    names[keccak(text=sig)[:4]] = item["name"]
        return names

    def revert_of(self, sender: str, call: Any, value: int = 0) -> str:
        """The custom error `call` from `sender` reverts with (by eth_call), or fail."""
        tx = {
            "from": sender,
            "to": call.address,
            "data": call._encode_transaction_data(),
            "value": hex(value),
            "gas": hex(3_000_000),
        }
        response = self.w3.provider.make_request("eth_call", [tx, "latest"])
        if "error" not in response:
            raise Reverted(f"{call.fn_name} from {sender} did not revert")
        data = bytes.fromhex(str(response["error"].get("data", "0x"))[2:])
        return self.error_names().get(data[:4], f"unknown error {data.hex()}")

    def events(self, receipt: Any, contract: Any, name: str) -> list[dict[str, Any]]:
        return [
            dict(e["args"])
            for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)
        ]

    def node_status(self, node: str) -> int:
        return self.registry.functions.statusOf(node).call()

    def task(self, task_id: int) -> dict[str, Any]:
        v = self.manager.functions.getTask(task_id).call()
        keys = output_fields(self.manager.abi, "getTask")
        return dict(zip(keys, v, strict=True))

    def owed(self, contract: Any, account: str) -> int:
        return contract.functions.owed(account).call()

    def timeouts(self, task_type: int = SD) -> tuple[int, int, int, int]:
        return tuple(self.manager.functions.timeouts(task_type).call())

    def min_stake(self) -> int:
        return self.registry.functions.minStake().call()

    # ---- steps ----

    def join_nodes(self, nodes: Sequence[str], vram: int = 24) -> None:
        for node in nodes:
            self.join(node, vram=vram)

    def commit_all(self, task_id: int, results: dict[str, bytes]) -> list[Any]:
        return [self.commit(task_id, n, r, nonce_for(n, task_id)) for n, r in results.items()]

    def disclose_all(self, task_id: int, results: dict[str, bytes]) -> list[Any]:
        return [self.disclose(task_id, n, r, nonce_for(n, task_id)) for n, r in results.items()]

    def run_to_settlement(
        self, task_id: int, results: Sequence[bytes]
    ) -> tuple[list[str], list[Any]]:
        """The selected nodes commit then disclose `results` (in selection order)."""
        chosen = self.selected_nodes(task_id)
        by_node = dict(zip(chosen, results, strict=True))
        self.commit_all(task_id, by_node)
        return chosen, self.disclose_all(task_id, by_node)

    def books_balance(self) -> None:
        """Every wei either contract holds is accounted for by its own ledger."""
        tm, reg = self.manager.functions, self.registry.functions
        assert self.w3.eth.get_balance(self.manager.address) == (
            tm.totalEscrowed().call() + tm.totalOwed().call()
        )
        assert self.w3.eth.get_balance(self.registry.address) == (
            reg.totalStaked().call() + reg.totalOwed().call() + reg.incentivePool().call()
        )


def credited(chain: Chain, receipts: Sequence[Any], contract: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in receipts:
        for e in chain.events(r, contract, "Credited"):
            out[e["account"]] = out.get(e["account"], 0) + e["amount"]
    return out


__all__ = ["Chain", "commitment", "nonce_for"]
