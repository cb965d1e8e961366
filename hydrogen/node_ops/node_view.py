"""What `hydrogen node status` shows: the registry's record of a node, and the read model's
row beside it, each field marked with where it comes from.

The chain is the truth for what the registry holds (status, stake, GPU, VRAM, models, the
task holding the node); the Postgres row adds what only the event history knows (task
counts, earnings, when it joined) and may lag the chain by the projector's delay. Pure: both
views come in as values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from hydrogen.node_ops.inputs import format_wei
from streams.domain.protocol import NodeStatus
from streams.projection import label

CHAIN_SOURCE = "chain"
PROJECTION_SOURCE = "postgres"


def status_label(value: int) -> str:
    """A NodeStatus number as the contracts and the read model spell it (`PendingPause`);
    one this build does not know is shown by its number."""
    try:
        return label(NodeStatus(value))
    except ValueError:
        return f"status {value}"


@dataclass(frozen=True)
class RegistryNode:
    """`NodeRegistry.getNode(address)`."""

    address: str
    status: str
    tier: int
    vram: int
    missed_deadlines: int
    stake_wei: int
    task_id: int  # 0: no task holds the node
    gpu_name: str
    model_ids: tuple[str, ...]

    @classmethod
    def from_struct(cls, address: str, names: Sequence[str], values: Sequence[Any]) -> RegistryNode:
        """From the struct's field names (the ABI's order) and the tuple web3 returns."""
        if len(names) != len(values):
            raise ValueError(f"getNode returned {len(values)} values for fields {list(names)}")
        f = dict(zip(names, values, strict=True))
        return cls(
            address=address,
            status=status_label(int(f["status"])),
            tier=int(f["tier"]),
            vram=int(f["vram"]),
            missed_deadlines=int(f["missedDeadlines"]),
            stake_wei=int(f["stake"]),
            task_id=int(f["taskId"]),
            gpu_name=str(f["gpuName"]),
            model_ids=tuple(str(m) for m in f["modelIds"]),
        )

    @property
    def joined(self) -> bool:
        return self.status != status_label(NodeStatus.NONE)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "stake_wei": str(self.stake_wei),
            "gpu_name": self.gpu_name,
            "vram_gb": self.vram,
            "tier": self.tier,
            "model_ids": list(self.model_ids),
            "current_task": str(self.task_id) if self.task_id else None,
            "missed_deadlines": self.missed_deadlines,
        }


# The `nodes` columns shown, in order (hydrogen/db/migrations/0003_projections.sql).
PROJECTED_COLUMNS = (
    "status",
    "stake",
    "gpu_name",
    "vram",
    "tier",
    "model_ids",
    "current_task",
    "tasks",
    "successes",
    "slashes",
    "timeouts",
    "deliveries",
    "earned",
    "fined",
    "joined_at",
    "version",
    "updated_at",
)


@dataclass(frozen=True)
class Projection:
    """What the read model said: its row (None: it has no row for the node), or why it
    could not be asked."""

    row: Mapping[str, Any] | None = None
    error: str | None = None


def status_document(
    chain_id: int, registry_address: str, node: RegistryNode, projection: Projection
) -> dict[str, Any]:
    """The `--json` form: the two sources side by side, never merged."""
    return {
        "node": node.address,
        "chain_id": chain_id,
        "chain": {
            "source": f"NodeRegistry.getNode at {registry_address}",
            **node.as_json(),
        },
        "projection": {
            "source": "postgres table nodes",
            "row": None if projection.row is None else _jsonable_row(projection.row),
            "error": projection.error,
        },
    }


def status_lines(chain_id: int, node: RegistryNode, projection: Projection) -> list[str]:
    """The human form: one line per field with its source."""
    rows: list[tuple[str, str, str]] = [
        ("status", node.status if node.joined else f"{node.status} (never joined)", CHAIN_SOURCE),
        (
            "stake",
            f"{format_wei(node.stake_wei)} ({node.stake_wei} wei)" if node.stake_wei else "0",
            CHAIN_SOURCE,
        ),
        ("gpu", node.gpu_name or "-", CHAIN_SOURCE),
        ("vram", f"{node.vram} GB (tier {node.tier})" if node.joined else "-", CHAIN_SOURCE),
        ("models", ", ".join(node.model_ids) or "-", CHAIN_SOURCE),
        ("current task", str(node.task_id) if node.task_id else "-", CHAIN_SOURCE),
        ("missed deadlines", str(node.missed_deadlines), CHAIN_SOURCE),
    ]
    row = projection.row
    if row is not None:
        rows += [
            ("projected status", f"{row['status']} (version {row['version']})", PROJECTION_SOURCE),
            ("tasks", str(row["tasks"]), PROJECTION_SOURCE),
            ("successes", str(row["successes"]), PROJECTION_SOURCE),
            ("slashes", str(row["slashes"]), PROJECTION_SOURCE),
            ("timeouts", str(row["timeouts"]), PROJECTION_SOURCE),
            ("deliveries", str(row["deliveries"]), PROJECTION_SOURCE),
            ("earned", format_wei(int(row["earned"])), PROJECTION_SOURCE),
            ("fined", format_wei(int(row["fined"])), PROJECTION_SOURCE),
            ("joined at", _text(row["joined_at"]), PROJECTION_SOURCE),
            ("updated at", _text(row["updated_at"]), PROJECTION_SOURCE),
        ]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"node {node.address} on chain {chain_id}", ""]
    lines += [f"{name:<{width}}  {value:<44} {source}" for name, value, source in rows]
    lines.append("")
    if projection.error is not None:
        lines.append(f"postgres: not asked ({projection.error}); the chain's view alone")
    elif row is None:
        lines.append("postgres: no row for this node (the projector has not seen it)")
    elif row["status"] != node.status:
        lines.append(
            f"postgres: the projection says {row['status']}, the chain {node.status}: "
            "the projector is behind the chain"
        )
    return lines


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _jsonable_row(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in PROJECTED_COLUMNS:
        value = row.get(column)
        if isinstance(value, Decimal | int) and column in ("stake", "earned", "fined"):
            value = str(int(value))  # wei: beyond what a JSON number holds exactly
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, list | tuple):
            value = list(value)
        out[column] = value
    return out
