"""The devnet's nodes on chain: each joins NodeRegistry once, staking the minimum."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from hydrogen.devnet.accounts import node_account
from hydrogen.gas_report import ContractsDriver
from inference import tiny_models
from schemas.task_args import model_id

NODE_STATUS_NONE = 0  # `NodeStatus.None` of contracts/src/HydrogenTypes.sol: never joined

# What the devnet's nodes hold: the tiny models, named as tasks name them (`base_model:
# "tiny-sd15"` gives the id `base:tiny-sd15`, see schemas/task_args/model_ids.py).
TINY_MODEL_IDS = (
    model_id("base", tiny_models.SD15),
    model_id("base", tiny_models.SDXL),
    model_id("lora", tiny_models.LORA),
    model_id("llm", tiny_models.LLM),
)


def join_devnet_nodes(w3: Web3, deployment: dict[str, Any], nodes: int) -> list[str]:
    """Join the first `nodes` devnet nodes that have never joined; return their addresses.

    Anvil holds the devnet accounts' keys, so the joins are sent unsigned from each node.
    """
    driver = ContractsDriver.from_deployment(w3, deployment)
    joined: list[str] = []
    for n in range(nodes):
        address = node_account(n).address
        if driver.registry.functions.statusOf(address).call() != NODE_STATUS_NONE:
            continue
        driver.join(address, model_ids=TINY_MODEL_IDS)
        joined.append(address)
    return joined
