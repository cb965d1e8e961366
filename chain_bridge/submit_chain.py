"""The submitter's few questions to an Ethereum node, over the bridge's JSON-RPC client.

Thin on purpose: counts, fees, a gas estimate that hands back revert data instead of
raising, a raw broadcast, receipts. Errors that are not a revert become `ChainRpcError`:
the submitter cannot decide anything safely without the node, so it stops and is restarted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain_bridge.errors import ChainRpcError
from chain_bridge.revert import revert_data
from chain_bridge.rpc import JsonRpc

# JSON-RPC error code nodes use for "execution reverted" (EIP-1474 / geth, anvil).
_REVERT_CODE = 3
# What geth ("insufficient funds for gas * price + value", -32000) and anvil (-32003) say of
# a call its sender cannot pay for: a fact about this request, not a failure of the node.
_NO_FUNDS = "insufficient funds"


@dataclass(frozen=True)
class Estimate:
    gas: int | None  # None: the call reverts, or the node refuses it (`refusal`)
    revert_data: bytes = b""
    refusal: str | None = None  # why the node will not take it, e.g. the sender cannot pay


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    gas_used: int


class ChainClient:
    def __init__(self, rpc: JsonRpc) -> None:
        self._json_rpc = rpc

    def _raw(self, method: str, params: list[Any]) -> dict[str, Any]:
        return self._json_rpc.request(method, params)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self._raw(method, params)
        if "error" in response:
            raise ChainRpcError(f"{method} {params!r:.300}: {response['error']}")
        return response["result"]

    def chain_id(self) -> int:
        return int(self._rpc("eth_chainId", []), 16)

    def head(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def nonce(self, address: str, block: str) -> int:
        """Transactions of `address` mined ("latest") or mined and pooled ("pending")."""
        return int(self._rpc("eth_getTransactionCount", [address, block]), 16)

    def estimate(self, sender: str, to: str, data: bytes, value: int) -> Estimate:
        """Gas for the call on top of the pending state, or the data it reverts with."""
        tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "value": hex(value)}
        response = self._raw("eth_estimateGas", [tx, "pending"])
        error = response.get("error")
        if error is None:
            return Estimate(int(response["result"], 16))
        message = str(error.get("message", ""))
        if error.get("code") == _REVERT_CODE or "revert" in message.lower():
            return Estimate(None, revert_data(error.get("data")))
        if _NO_FUNDS in message.lower():
            return Estimate(None, refusal=f"{sender} cannot pay for it: {message}")
        raise ChainRpcError(f"eth_estimateGas to {to}: {error}")

    def replay_revert(
        self, sender: str, to: str, data: bytes, value: int, gas: int, block: int
    ) -> bytes:
        """Revert data of a mined, reverted call, by replaying it on the state before its block.

        Exact when the block holds only that transaction (anvil's automine); otherwise the
        earlier transactions of the block are missing from the replayed state.
        """
        tx = {
            "from": sender,
            "to": to,
            "data": "0x" + data.hex(),
            "value": hex(value),
            "gas": hex(gas),
        }
        response = self._raw("eth_call", [tx, hex(max(block - 1, 0))])
        error = response.get("error")
        return b"" if error is None else revert_data(error.get("data"))

    def suggested_fees(self) -> tuple[int, int]:
        """(base fee of the latest block, suggested priority fee)."""
        block = self._rpc("eth_getBlockByNumber", ["latest", False])
        return int(block.get("baseFeePerGas", "0x0"), 16), int(
            self._rpc("eth_maxPriorityFeePerGas", []), 16
        )

    def broadcast(self, raw_tx: bytes) -> str | None:
        """Send a signed transaction; the node's complaint, or None when it took it.

        A complaint is no failure: after a restart the transaction may be mined already
        ("nonce too low") or pooled ("already known"); the receipt lookup settles it.
        """
        response = self._raw("eth_sendRawTransaction", ["0x" + raw_tx.hex()])
        error = response.get("error")
        return None if error is None else str(error.get("message", error))

    def receipt(self, tx_hash: str) -> Receipt | None:
        r = self._rpc("eth_getTransactionReceipt", [tx_hash])
        if r is None:
            return None
        return Receipt(
            tx_hash=r["transactionHash"],
            status=int(r["status"], 16),
            block_number=int(r["blockNumber"], 16),
            gas_used=int(r["gasUsed"], 16),
        )
