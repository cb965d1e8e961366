"""Reads of the NodeRegistry that the node commands check inputs against and show.

Reads only: every write goes through `chain.tx-requests` and the submitter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eth_typing import ChecksumAddress
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3Exception

from hydrogen.node_ops.errors import ChainReadError, EndpointError
from hydrogen.node_ops.node_view import RegistryNode
from hydrogen.node_ops.request import REGISTRY
from relay_api.chain_reader import output_fields

T = TypeVar("T")

# Gas a node should be able to pay besides the value it sends: a join with a few model ids
# costs about 300k gas; priced at the chain's current gas price.
GAS_ALLOWANCE = 500_000


class RegistryReader:
    def __init__(self, rpc_url: str, deployment: dict[str, Any], timeout_s: float = 10) -> None:
        self.rpc_url = rpc_url
        self._w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
        entry = deployment["contracts"][REGISTRY]
        self.address: ChecksumAddress = Web3.to_checksum_address(entry["address"])
        self._abi: list[dict[str, Any]] = entry["abi"]
        self._registry = self._w3.eth.contract(address=self.address, abi=self._abi)
        self.chain_id = self._read("eth_chainId", lambda: int(self._w3.eth.chain_id))
        recorded = deployment.get("chainId")
        if recorded is not None and int(recorded) != self.chain_id:
            raise EndpointError(
                f"the deployment record is for chain {recorded}, but {rpc_url} is chain "
                f"{self.chain_id}"
            )
        if not self._read("eth_getCode", lambda: self._w3.eth.get_code(self.address)):
            raise EndpointError(
                f"no contract at {self.address} (the deployment's {REGISTRY}) on {rpc_url}: "
                "a deployment record of another chain, or a chain that was reset"
            )

    def min_stake(self) -> int:
        return int(self._read("minStake", self._registry.functions.minStake().call))

    def tier_floors(self) -> tuple[int, ...]:
        floors = self._read("tierFloors", self._registry.functions.tierFloors().call)
        return tuple(int(f) for f in floors)

    def node(self, address: str) -> RegistryNode:
        values = self._read("getNode", self._registry.functions.getNode(address).call)
        return RegistryNode.from_struct(address, output_fields(self._abi, "getNode"), values)

    def balance(self, address: str) -> int:
        return int(
            self._read(
                "eth_getBalance",
                lambda: self._w3.eth.get_balance(Web3.to_checksum_address(address)),
            )
        )

    def gas_allowance(self) -> int:
        """What about one transaction of ours may cost at today's gas price."""
        price = self._read("eth_gasPrice", lambda: self._w3.eth.gas_price)
        return GAS_ALLOWANCE * int(price)

    def _read(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (OSError, Web3Exception, ValueError) as exc:
            # requests' connection errors are OSErrors; a revert of a view is a Web3Exception.
            raise ChainReadError(f"{what} on {self.rpc_url} failed: {exc}") from exc
