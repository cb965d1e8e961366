"""A small JSON-RPC client for the bridge's calls, batched where the chain allows it.

web3.py's provider stack costs more per call than the call itself on a local node; the bridge
makes few kinds of calls, so it speaks JSON-RPC directly over one keep-alive connection.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from chain_bridge.errors import ChainRpcError
from chain_bridge.window import BlockRef


class JsonRpc:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, params: Sequence[Any]) -> Any:
        (result,) = self.batch([(method, params)])
        return result

    def request(self, method: str, params: Sequence[Any]) -> dict[str, Any]:
        """The node's whole answer, error included: for calls whose error is an answer
        (a revert's data), not a failure."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = self._http.post(self.url, json=body)
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ChainRpcError(f"{method} to {self.url} failed: {exc}") from exc
        return answer

    def batch(self, calls: Iterable[tuple[str, Sequence[Any]]]) -> list[Any]:
        requests = [
            {"jsonrpc": "2.0", "id": next(self._ids), "method": m, "params": list(p)}
            for m, p in calls
        ]
        if not requests:
            return []
        try:
            response = self._http.post(self.url, json=requests)
            response.raise_for_status()
            answers = {a["id"]: a for a in response.json()}
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ChainRpcError(
                f"JSON-RPC batch of {len(requests)} to {self.url} failed: {exc}"
            ) from exc
        results = []
        for r in requests:
            answer = answers.get(r["id"])
            if answer is None or "error" in answer:
                detail = answer["error"] if answer else "no answer"
                raise ChainRpcError(f"{r['method']}{r['params']} failed: {detail}")
            results.append(answer["result"])
        return results

    def chain_id(self) -> int:
        return int(self.call("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def get_logs(self, addresses: Sequence[str], first: int, last: int) -> list[dict[str, Any]]:
        logs: list[dict[str, Any]] = self.call(
            "eth_getLogs",
            [{"address": list(addresses), "fromBlock": hex(first), "toBlock": hex(last)}],
        )
        return logs

    def headers(self, numbers: Sequence[int]) -> dict[int, Header]:
        """Headers of the given blocks (one batch); a missing block is an ChainRpcError."""
        blocks = self.batch(("eth_getBlockByNumber", [hex(n), False]) for n in numbers)
        out = {}
        for n, b in zip(numbers, blocks, strict=True):
            if b is None:
                raise ChainRpcError(f"block {n} does not exist (yet)")
            out[n] = Header(BlockRef(n, b["hash"], b["parentHash"]), int(b["timestamp"], 16))
        return out


@dataclass(frozen=True, slots=True)
class Header:
    ref: BlockRef
    timestamp: int  # seconds since the epoch
