"""TaskManager as an application sees it: create and cancel its tasks, read them, list their
events.

Transactions are signed here with the app's key (never by the node), with the nonce the chain
gives for the account's pending transactions. Every call is estimated first: a call that would
revert is reported with the contract's custom error (`WrongTaskStatus(taskId=3, status=5)`),
decoded from the revert data with the deployment's error ABIs, and nothing is sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD
from web3.types import RPCEndpoint

from chain_bridge.revert import Revert, RevertDecoder, revert_data
from hydrogen.app.errors import EndpointError, SignerError, TaskNotFound, TxReverted
from hydrogen.app.task_view import STATUS_NAMES, ChainEvent, TaskView, enum_name, output_fields
from schemas.task_args import TaskKind

log = logging.getLogger(__name__)

RECEIPT_TIMEOUT_S = 120.0
GAS_MARGIN = 1.25  # over the estimate: state may change between estimate and mining


@dataclass(frozen=True)
class CreatedTask:
    task_id: int
    tx_hash: str
    block_number: int
    status: str  # Queued, or Running when nodes were free


@dataclass(frozen=True)
class CancelledTask:
    task_id: int
    tx_hash: str
    refund_wei: int


class AppChain:
    """TaskManager of one deployment, through one RPC endpoint, signing as `signer`."""

    def __init__(
        self, w3: Web3, deployment: Mapping[str, Any], signer: LocalAccount | None = None
    ) -> None:
        try:
            manager = deployment["contracts"]["TaskManager"]
            self.manager = w3.eth.contract(
                address=to_checksum_address(manager["address"]), abi=manager["abi"]
            )
            self._task_fields = output_fields(manager["abi"], "getTask")
            error_abis = [
                item
                for contract in deployment["contracts"].values()
                for item in contract["abi"]
                if item.get("type") == "error"
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise EndpointError(
                f"the deployment record does not describe TaskManager ({exc!r} missing or wrong)"
            ) from exc
        self.w3 = w3
        self.signer = signer
        self.deployed_block = int(manager.get("blockNumber", 0))
        self._reverts = RevertDecoder(error_abis)
        self._event_names = {
            "0x" + event_abi_to_log_topic(item).hex(): str(item["name"])
            for item in manager["abi"]
            if item.get("type") == "event"
        }

    @classmethod
    def connect(
        cls, rpc_url: str, deployment: Mapping[str, Any], signer: LocalAccount | None = None
    ) -> AppChain:
        w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        return cls(w3, deployment, signer)

    # ---- reads ----

    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def task_count(self) -> int:
        return int(self.manager.functions.taskCount().call())

    def task(self, task_id: int) -> TaskView:
        try:
            values = self.manager.functions.getTask(task_id).call()
        except ContractLogicError as exc:
            revert = self._decode(revert_data(exc.data))
            if revert.name == "UnknownTask":
                raise TaskNotFound(f"no task {task_id} on chain {self.chain_id()}") from exc
            raise TxReverted("getTask", revert) from exc
        return TaskView.of(task_id, self._task_fields, values)

    def threshold(self, kind: TaskKind) -> int:
        """Most bits an image's p-hash may differ from the validated one (the contract's)."""
        return int(self.manager.functions.threshold(kind.contract_value).call())

    def events(self, task_id: int, from_block: int | None = None) -> list[ChainEvent]:
        """Every TaskManager event of the task (each has the task id as its first topic)."""
        logs = self.w3.eth.get_logs(
            {
                "address": self.manager.address,
                "fromBlock": self.deployed_block if from_block is None else from_block,
                "toBlock": "latest",
                "topics": [None, "0x" + task_id.to_bytes(32, "big").hex()],
            }
        )
        block_time = cache(lambda n: int(self.w3.eth.get_block(n)["timestamp"]))
        events = []
        for entry in logs:
            name = self._event_names.get("0x" + bytes(entry["topics"][0]).hex())
            if name is None:
                continue
            decoded = self.manager.events[name]().process_log(entry)
            events.append(
                ChainEvent(
                    name=name,
                    tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                    block_number=int(entry["blockNumber"]),
                    log_index=int(entry["logIndex"]),
                    block_time=block_time(int(entry["blockNumber"])),
                    args=dict(decoded["args"]),
                )
            )
        return events

    # ---- the creator's transactions ----

    def create_task(
        self,
        kind: TaskKind,
        args_hash: bytes,
        model_ids: Sequence[str],
        min_vram: int,
        fee_wei: int,
    ) -> CreatedTask:
        args = [kind.contract_value, args_hash, list(model_ids), min_vram]
        receipt = self._transact("createTask", args, value=fee_wei)
        (created,) = self.manager.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
        task_id = int(created["args"]["taskId"])
        # createTask starts the oldest queued task it can, which may be another one.
        started = self.manager.events.TaskStarted().process_receipt(receipt, errors=DISCARD)
        status = "Running" if any(e["args"]["taskId"] == task_id for e in started) else "Queued"
        return CreatedTask(
            task_id, "0x" + bytes(receipt["transactionHash"]).hex(), receipt["blockNumber"], status
        )

    def cancel_task(self, task_id: int) -> CancelledTask:
        receipt = self._transact("cancelTask", [task_id])
        events = self.manager.events.TaskCancelled().process_receipt(receipt, errors=DISCARD)
        refund = int(events[0]["args"]["refund"]) if events else 0
        return CancelledTask(task_id, "0x" + bytes(receipt["transactionHash"]).hex(), refund)

    def _transact(self, name: str, args: Sequence[Any], value: int = 0) -> Any:
        """Sign and send TaskManager.`name`(`args`) and wait for its receipt; TxReverted with
        the contract's error when it would revert or did."""
        if self.signer is None:
            raise SignerError(f"{name} needs the app's key; none was given")
        sender = self.signer.address
        data = self.manager.encode_abi(name, args=list(args))
        request = {"from": sender, "to": self.manager.address, "data": data, "value": hex(value)}
        estimate = self.w3.provider.make_request(
            RPCEndpoint("eth_estimateGas"), [request, "pending"]
        )
        if "error" in estimate:
            error = estimate["error"]
            reverted = revert_data(error.get("data") if isinstance(error, dict) else None)
            if reverted or "revert" in str(error).lower():
                raise TxReverted(name, self._decode(reverted))
            raise EndpointError(f"{name}: the chain refused to estimate it: {error}")
        gas = int(int(estimate["result"], 16) * GAS_MARGIN)
        tx = {
            "to": self.manager.address,
            "data": data,
            "value": value,
            "gas": gas,
            "gasPrice": self.w3.eth.gas_price,
            "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
            "chainId": self.w3.eth.chain_id,
        }
        tx_hash = self.w3.eth.send_raw_transaction(self.signer.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=0.05
        )
        shown = "0x" + bytes(tx_hash).hex()
        if receipt["status"] != 1:
            # Replayed on the state before its block: exact on anvil, one tx a block.
            replay = self.w3.provider.make_request(
                RPCEndpoint("eth_call"),
                [{**request, "gas": hex(gas)}, hex(receipt["blockNumber"] - 1)],
            )
            reverted = revert_data(replay.get("error", {}).get("data"))
            raise TxReverted(name, self._decode(reverted), f" (tx {shown})")
        log.info("%s mined tx=%s block=%s", name, shown, receipt["blockNumber"])
        return receipt

    def _decode(self, data: bytes) -> Revert:
        revert = self._reverts.decode(data)
        return _with_status_name(revert)


def _with_status_name(revert: Revert) -> Revert:
    """`WrongTaskStatus(taskId=3, status=5)` says more with the status's name: `the task is
    Completed`."""
    if not revert.args_json:
        return revert
    status = json.loads(revert.args_json).get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        return revert
    reason = f"{revert.reason}: the task is {enum_name(STATUS_NAMES, status)}"
    return Revert(revert.name, revert.args_json, reason)
