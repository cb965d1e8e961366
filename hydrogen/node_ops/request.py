"""A node operator's intent as one `TxRequest` for `chain_bridge.submit`.

The submitter signs with the node's own key, so the node's transactions and the commits the
streams worker asks for share one ordered partition (the key is the signer) and their nonces
never collide. Pure: the time, the unique part of the id and the chain id come in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hydrogen.node_ops.inputs import REQUEST_ID_PREFIX

REGISTRY = "NodeRegistry"  # the contract's name in the deployment record
ORIGIN = "hydrogen.cli.node"


class NodeAction(StrEnum):
    """What an operator can ask of the registry for a node, by command name."""

    JOIN = "join"
    ADD_STAKE = "add-stake"
    PAUSE = "pause"
    RESUME = "resume"
    QUIT = "quit"

    @property
    def function(self) -> str:
        """The NodeRegistry function that does it."""
        return _FUNCTIONS[self]


_FUNCTIONS = {
    NodeAction.JOIN: "join",
    NodeAction.ADD_STAKE: "addStake",
    NodeAction.PAUSE: "pause",
    NodeAction.RESUME: "resume",
    NodeAction.QUIT: "quit",
}


@dataclass(frozen=True)
class NodeCall:
    """One registry call sent by the node itself."""

    action: NodeAction
    node: str  # checksummed; the signer
    args: tuple[Any, ...] = ()
    value_wei: int = 0


def join_call(
    node: str, gpu_name: str, vram: int, model_ids: tuple[str, ...], stake_wei: int
) -> NodeCall:
    return NodeCall(NodeAction.JOIN, node, (gpu_name, vram, list(model_ids)), stake_wei)


def add_stake_call(node: str, amount_wei: int) -> NodeCall:
    return NodeCall(NodeAction.ADD_STAKE, node, (), amount_wei)


def plain_call(action: NodeAction, node: str) -> NodeCall:
    """pause, resume or quit: no arguments, no value."""
    if action in (NodeAction.JOIN, NodeAction.ADD_STAKE):
        raise ValueError(f"{action} carries arguments or value; use its own builder")
    return NodeCall(action, node)


def new_request_id(chain_id: int, call: NodeCall, unique: str) -> str:
    """`cli:{chainId}:{node}:{action}:{unique}`: readable in a log, and unique per run so
    that a second `pause` later is a second request, not a duplicate of the first."""
    return f"{REQUEST_ID_PREFIX}{chain_id}:{call.node}:{call.action}:{unique}"


def tx_request(
    call: NodeCall, request_id: str, now_ms: int, not_after_ms: int | None
) -> dict[str, Any]:
    """The TxRequest.v1 record (schemas/avro/TxRequest.v1.avsc)."""
    return {
        "request_id": request_id,
        "signer": call.node,
        "contract": REGISTRY,
        "function": call.action.function,
        # Integers stay JSON numbers: vram is a uint32, far below 2^53.
        "args_json": json.dumps(list(call.args)),
        "value_wei": str(call.value_wei),
        "not_after": not_after_ms,
        "requested_at": now_ms,
        "origin": ORIGIN,
    }
