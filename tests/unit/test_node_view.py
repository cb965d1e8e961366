"""`node status`: the registry's struct read by field name, and each shown field's source."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hydrogen import contracts
from hydrogen.node_ops.node_view import (
    Projection,
    RegistryNode,
    status_document,
    status_label,
    status_lines,
)
from relay_api.chain_reader import output_fields

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
REGISTRY = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
ETH = 10**18


@pytest.fixture(scope="module")
def get_node_fields() -> tuple[str, ...]:
    return output_fields(contracts.build()["NodeRegistry"].abi, "getNode")


def available(fields: tuple[str, ...]) -> RegistryNode:
    by_name = {
        "status": 1,
        "tier": 6,
        "vram": 80,
        "missedDeadlines": 1,
        "stake": 400 * ETH,
        "taskId": 0,
        "gpuName": "NVIDIA H100",
        "modelIds": ["base:tiny-sd15", "llm:tiny-gpt2"],
    }
    return RegistryNode.from_struct(NODE, fields, [by_name[f] for f in fields])


def row(status: str = "Available") -> dict[str, object]:
    return {
        "status": status,
        "stake": Decimal(400 * ETH),
        "gpu_name": "NVIDIA H100",
        "vram": 80,
        "tier": 6,
        "model_ids": ["base:tiny-sd15"],
        "current_task": None,
        "tasks": 12,
        "successes": 11,
        "slashes": 0,
        "timeouts": 1,
        "deliveries": 4,
        "earned": Decimal(3 * ETH),
        "fined": Decimal(0),
        "joined_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "version": 30,
        "updated_at": datetime(2025, 1, 3, tzinfo=UTC),
    }


def test_get_node_is_read_by_the_abis_field_names(get_node_fields: tuple[str, ...]) -> None:
    node = available(get_node_fields)
    assert node.status == "Available"
    assert (node.vram, node.tier, node.stake_wei, node.missed_deadlines) == (80, 6, 400 * ETH, 1)
    assert node.model_ids == ("base:tiny-sd15", "llm:tiny-gpt2")


def test_a_struct_of_another_shape_is_refused(get_node_fields: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="getNode returned 2 values"):
        RegistryNode.from_struct(NODE, get_node_fields, [1, 2])


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "None"), (1, "Available"), (4, "PendingPause"), (7, "Slashed"), (42, "status 42")],
)
def test_statuses_are_spelled_as_the_contract_and_the_read_model_do(number: int, text: str) -> None:
    assert status_label(number) == text


def test_every_line_names_its_source(get_node_fields: tuple[str, ...]) -> None:
    lines = status_lines(31337, available(get_node_fields), Projection(row=row()))
    by_field = {line[:18].strip(): line for line in lines[2:] if line.strip()}
    for field in ("status", "stake", "gpu", "vram", "models", "current task"):
        assert by_field[field].rstrip().endswith("chain"), by_field[field]
    for field in ("projected status", "tasks", "earned", "joined at"):
        assert by_field[field].rstrip().endswith("postgres"), by_field[field]
    assert "400 ETH" in by_field["stake"]
    assert "80 GB (tier 6)" in by_field["vram"]
    assert "3 ETH" in by_field["earned"]


def test_a_projection_behind_the_chain_is_pointed_out(get_node_fields: tuple[str, ...]) -> None:
    lines = status_lines(31337, available(get_node_fields), Projection(row=row("Paused")))
    assert lines[-1] == (
        "postgres: the projection says Paused, the chain Available: the projector is behind "
        "the chain"
    )


def test_without_postgres_the_chain_view_stands_alone(get_node_fields: tuple[str, ...]) -> None:
    node = available(get_node_fields)
    lines = status_lines(1, node, Projection(error="Postgres unreachable: connection refused"))
    assert not any(line.rstrip().endswith("postgres") for line in lines)
    assert lines[-1].startswith("postgres: not asked (Postgres unreachable: connection refused)")
    missing = status_lines(1, node, Projection())
    assert missing[-1] == "postgres: no row for this node (the projector has not seen it)"


def test_a_node_that_never_joined_says_so(get_node_fields: tuple[str, ...]) -> None:
    empty = RegistryNode.from_struct(NODE, get_node_fields, [0, 0, 0, 0, 0, 0, "", []])
    assert not empty.joined
    assert "None (never joined)" in status_lines(1, empty, Projection())[2]


def test_the_json_document_keeps_the_two_sources_apart(get_node_fields: tuple[str, ...]) -> None:
    doc = status_document(31337, REGISTRY, available(get_node_fields), Projection(row=row()))
    assert doc["node"] == NODE
    assert doc["chain"]["source"] == f"NodeRegistry.getNode at {REGISTRY}"
    assert doc["chain"]["status"] == "Available"
    assert doc["chain"]["stake_wei"] == str(400 * ETH)
    assert doc["projection"]["source"] == "postgres table nodes"
    assert doc["projection"]["row"]["earned"] == str(3 * ETH)
    assert doc["projection"]["row"]["joined_at"] == "2025-01-02T03:04:05+00:00"
    assert doc["projection"]["error"] is None
