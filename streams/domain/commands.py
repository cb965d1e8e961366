"""What the domain's `decide` functions return: commands for other components.

- RunInference -> `inference.jobs` (keyed by task id): one of our nodes must run a task.
- RequestTx -> `chain.tx-requests` (keyed by signer): a contract call for chain_bridge.submit,
  shaped field for field like the `TxRequest` Avro record (`to_record`).

Request ids are deterministic: the same decision over the same inputs always yields the same
id, and the submitter drops an id it has already seen, so a replay of our inputs never sends a
transaction twice. A deliberate second attempt gets its own id with an attempt suffix:

    {chain_id}:{task_id}:{node}:commit            first commitment of `node`
    {chain_id}:{task_id}:{node}:commit:{n}        its n-th attempt (n >= 2)
    {chain_id}:{task_id}:{node}:disclose[:{n}]    its disclosure
    {chain_id}:{task_id}:expire:{Phase}:{deadline}[:{n}]   the keeper's expire of one phase

Outcomes (`chain.tx-outcomes`) are keyed by request id; `task_of_request` gives the task id to
route one to the saga or keeper that asked, without a lookup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeAlias

from streams.domain.protocol import TaskType

TASK_MANAGER = "TaskManager"  # the contract's name in the deployment record


@dataclass(frozen=True)
class RunInference:
    """Run task `task_id` on our node `node`; the job must be done by `deadline_ms`."""

    job_id: str
    chain_id: int
    task_id: str
    node: str
    task_type: TaskType
    args_hash: bytes
    model_ids: tuple[str, ...]
    deadline_ms: int


@dataclass(frozen=True)
class RequestTx:
    """A contract call to make, as the TxRequest record carries it."""

    request_id: str
    signer: str
    contract: str
    function: str
    args_json: str
    value_wei: str
    not_after: int | None  # epoch ms
    requested_at: int  # epoch ms
    origin: str

    def to_record(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "signer": self.signer,
            "contract": self.contract,
            "function": self.function,
            "args_json": self.args_json,
            "value_wei": self.value_wei,
            "not_after": self.not_after,
            "requested_at": self.requested_at,
            "origin": self.origin,
        }

    @property
    def args(self) -> list[Any]:
        parsed: list[Any] = json.loads(self.args_json)
        return parsed


Command: TypeAlias = RunInference | RequestTx


def call_args(*args: int | str | bytes) -> str:
    """ABI arguments as TxRequest.args_json wants them: integers as decimal strings (task ids
    are uint256), bytes as 0x-hex."""
    return json.dumps(
        [
            "0x" + a.hex() if isinstance(a, bytes) else str(a) if isinstance(a, int) else a
            for a in args
        ],
        separators=(",", ":"),
    )


def with_attempt(request_id: str, attempt: int) -> str:
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    return request_id if attempt == 1 else f"{request_id}:{attempt}"


def node_request_id(chain_id: int, task_id: str, node: str, step: str, attempt: int = 1) -> str:
    return with_attempt(f"{chain_id}:{task_id}:{node}:{step}", attempt)


def inference_job_id(chain_id: int, task_id: str, node: str) -> str:
    return f"{chain_id}:{task_id}:{node}:infer"


def task_of_request(request_id: str) -> str:
    """The task id inside one of our request ids (see the module docstring)."""
    parts = request_id.split(":")
    if len(parts) < 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ValueError(f"not a task request id of ours: {request_id!r}")
    return parts[1]
