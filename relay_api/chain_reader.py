"""Reads of TaskManager on chain: a task the read model has not seen yet, and the p-hash
threshold. web3 is blocking, so each call runs in a worker thread."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread
from eth_utils.address import to_checksum_address
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, Web3Exception
from web3.logs import DISCARD

from relay_api.errors import NotFound, Unavailable
from relay_api.task_facts import STATUS_NAMES, TASK_TYPES, Source, TaskFacts

ZERO_ADDRESS = "0x" + "00" * 20


def output_fields(abi: list[dict[str, Any]], function: str) -> tuple[str, ...]:
    """The field names of the struct `function` returns, in order, from the contract's ABI:
    what a view's tuple is zipped with."""
    for item in abi:
        if item.get("type") == "function" and item.get("name") == function:
            (struct,) = item["outputs"]
            return tuple(c["name"] for c in struct["components"])
    raise ValueError(f"the ABI has no function {function!r}")


class Deployment:
    """The parts of a deployment record (`deployment.json`) the relay uses."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.chain_id = int(record["chainId"])
        manager = record["contracts"]["TaskManager"]
        self.task_manager_address: str = manager["address"]
        self.task_manager_abi: list[dict[str, Any]] = manager["abi"]

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            return cls(json.loads(path.read_text()))
        except KeyError as exc:
            raise ValueError(
                f"deployment file {path} has no {exc.args[0]!r}: it describes other contracts;"
                " deploy again (`hydrogen devnet up` redeploys a stale devnet)"
            ) from exc
        except FileNotFoundError:
            raise FileNotFoundError(
                f"deployment file {path} not found; deploy the contracts first "
                "(`hydrogen devnet up` or `hydrogen contracts deploy`)"
            ) from None


class ChainReader:
    def __init__(self, rpc_url: str, deployment: Deployment) -> None:
        self.deployment = deployment
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        self.manager = self.w3.eth.contract(
            address=to_checksum_address(deployment.task_manager_address),
            abi=deployment.task_manager_abi,
        )
        self._thresholds: dict[str, int] = {}
        self._task_fields = output_fields(deployment.task_manager_abi, "getTask")

    async def task(self, task_id: str) -> TaskFacts:
        view = await self._call(partial(self.manager.functions.getTask(int(task_id)).call))
        if view is None:
            raise NotFound(f"task {task_id} does not exist on chain {self.deployment.chain_id}")
        v = dict(zip(self._task_fields, view, strict=True))
        status = STATUS_NAMES[v["status"]]
        if status == "None":
            raise NotFound(f"task {task_id} does not exist on chain {self.deployment.chain_id}")
        nodes = tuple(m[0] for m in v["members"] if m[0] != ZERO_ADDRESS)
        result_node = v["resultNode"] if v["resultNode"] != ZERO_ADDRESS else None
        result = None
        if result_node is not None:
            slot = [m[0] for m in v["members"]].index(result_node)
            result = bytes(v["results"][slot]) or None
        return TaskFacts(
            chain_id=self.deployment.chain_id,
            task_id=task_id,
            status=status,
            creator=v["creator"],
            task_type=TASK_TYPES[v["taskType"]],
            args_hash=bytes(v["argsHash"]),
            nodes=nodes,
            result_node=result_node,
            result=result,
            source=Source.CHAIN,
        )

    async def threshold(self, task_type: str) -> int:
        """Most bits two images' p-hashes may differ by (the contract's parameter)."""
        if task_type not in self._thresholds:
            bits = await self._call(
                partial(self.manager.functions.threshold(TASK_TYPES.index(task_type)).call)
            )
            self._thresholds[task_type] = int(bits)
        return self._thresholds[task_type]

    async def task_created_in(self, tx_hash: str) -> str | None:
        """The id of the task a mined createTask transaction created."""

        def read() -> str | None:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            events = self.manager.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
            return str(events[0]["args"]["taskId"]) if events else None

        task_id: str | None = await self._call(read)
        return task_id

    async def ping(self) -> int:
        return int(await anyio.to_thread.run_sync(lambda: self.w3.eth.block_number))

    async def _call(self, fn: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn)
        except ContractLogicError:
            return None  # getTask of an unknown id reverts
        except (Web3Exception, OSError, ValueError) as exc:
            raise Unavailable(f"chain read failed: {exc}") from exc
