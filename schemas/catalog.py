"""The topic catalog: the one place where topic names, keys, partition counts and retention live.

Topics are created from this catalog, never auto-created: a topic that appeared with another
partition count would break the co-partitioning that faust tables rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

FOREVER = -1
DAY_MS = 24 * 60 * 60 * 1000


class Cleanup(StrEnum):
    DELETE = "delete"
    COMPACT = "compact"


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    description: str
    partitions: int
    cleanup: Cleanup = Cleanup.DELETE
    retention_ms: int = 7 * DAY_MS
    extra_config: dict[str, str] = field(default_factory=dict)
    # Avro record names (schemas/avro/) that this topic's values may hold.
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"topic {self.name!r}: partitions must be >= 1, got {self.partitions}")
        if self.retention_ms != FOREVER and self.retention_ms <= 0:
            raise ValueError(
                f"topic {self.name!r}: retention_ms must be positive or FOREVER, "
                f"got {self.retention_ms}"
            )

    def config(self) -> dict[str, str]:
        """Broker-side topic config, as `kafka-topics --config` would take it."""
        return {
            "cleanup.policy": str(self.cleanup),
            "retention.ms": str(self.retention_ms),
            **self.extra_config,
        }

    @property
    def dlq(self) -> Topic:
        """Where a message of this topic goes when it cannot be decoded or is rejected."""
        return Topic(
            name=f"{self.name}.dlq",
            key=self.key,
            description=f"Undecodable or rejected messages of {self.name}, with the reason.",
            partitions=self.partitions,
            retention_ms=FOREVER,
            values=("DeadLetter",),
        )


# Every producer of ours must place a key where Kafka's Java clients and faust (aiokafka) do,
# or co-partitioned topics would disagree: librdkafka's default is CRC32, not murmur2.
PARTITIONER = "murmur2_random"

# Partition counts: events of one task (or one node, one signer) share a key, so they stay in
# order on one partition. Tables that join two topics need the same count on both.
TASK_PARTITIONS = 6
NODE_PARTITIONS = 6
SIGNER_PARTITIONS = 3

CHAIN_TASK_EVENTS = Topic(
    "chain.task-events",
    key="task id",
    description="Every TaskManager event with chain id, block number and hash, tx hash, log index.",
    partitions=TASK_PARTITIONS,
    retention_ms=FOREVER,
)
CHAIN_NODE_EVENTS = Topic(
    "chain.node-events",
    key="node address",
    description="Node registry events: joined, paused, resumed, quit, slashed, kicked out.",
    partitions=NODE_PARTITIONS,
    retention_ms=FOREVER,
)
CHAIN_CONTRACT_EVENTS = Topic(
    "chain.contract-events",
    key="contract address",
    description="Contract-wide events: configuration, ownership, withdrawals of credited funds.",
    partitions=1,
    retention_ms=FOREVER,
)
CHAIN_TX_REQUESTS = Topic(
    "chain.tx-requests",
    key="signer address",
    description="A contract call to make, with a deterministic request id; one signer's stay in order.",
    partitions=SIGNER_PARTITIONS,
    values=("TxRequest",),
)
CHAIN_TX_OUTCOMES = Topic(
    "chain.tx-outcomes",
    key="request id",
    description="What became of a tx request: mined, reverted with its reason, replaced, expired.",
    partitions=SIGNER_PARTITIONS,
    values=("TxOutcome",),
)
INFERENCE_JOBS = Topic(
    "inference.jobs",
    key="task id",
    description="A task for one of our nodes to run: node, type, args hash, models, deadline.",
    partitions=TASK_PARTITIONS,
    values=("InferenceJob",),
)
INFERENCE_RESULTS = Topic(
    "inference.results",
    key="task id",
    description="A node's result: result hash or error code, timings, dtype, staged blob refs.",
    partitions=TASK_PARTITIONS,
    values=("InferenceResult",),
)
TASKS_SNAPSHOTS = Topic(
    "tasks.snapshots",
    key="task id",
    description="The current read model of each task.",
    partitions=TASK_PARTITIONS,
    cleanup=Cleanup.COMPACT,
    retention_ms=FOREVER,
)
NODES_SNAPSHOTS = Topic(
    "nodes.snapshots",
    key="node address",
    description="The current read model of each node.",
    partitions=NODE_PARTITIONS,
    cleanup=Cleanup.COMPACT,
    retention_ms=FOREVER,
    values=("NodeSnapshot",),
)
TASKS_HISTORY = Topic(
    "tasks.history",
    key="task id",
    description="Status changes of tasks with timestamps and phase durations, for analytics.",
    partitions=TASK_PARTITIONS,
    retention_ms=FOREVER,
)
# The chain bridge's own state, written in the same Kafka transactions as its effects.
CHAIN_INGEST_CURSOR = Topic(
    "chain.ingest-cursor",
    key="chain id",
    description="Where log ingest stands: next block and the window of recent block hashes.",
    partitions=1,
    cleanup=Cleanup.COMPACT,
    retention_ms=FOREVER,
    values=("IngestCursor",),
)
CHAIN_TX_JOURNAL = Topic(
    "chain.tx-journal",
    key="signer address",
    description=(
        "The submitter's write-ahead journal: each signer's next nonce and signed transactions "
        "not yet settled, one record per signer; co-partitioned with chain.tx-requests."
    ),
    partitions=SIGNER_PARTITIONS,
    cleanup=Cleanup.COMPACT,
    retention_ms=FOREVER,
    values=("SignerJournal",),
)
# Internal topics of the streams app (faust). The first two live on the task partitions, so the
# node saga's table (keyed by task) sees them beside chain.task-events and inference.results;
# streams.node-facts lives on the node partitions, beside chain.node-events.
STREAMS_TX_OUTCOMES_BY_TASK = Topic(
    "streams.tx-outcomes-by-task",
    key="task id",
    description=(
        "chain.tx-outcomes of the node saga's and deadline keeper's requests, re-keyed by the "
        "task id inside the request id, so each reaches the partition that holds its task."
    ),
    partitions=TASK_PARTITIONS,
    values=("TxOutcome",),
)
STREAMS_TICKS = Topic(
    "streams.ticks",
    key="none (written to an explicit partition)",
    description=(
        "Time for the deadline keeper: each streams worker writes a tick to every partition it "
        "owns, so time reaches the task table as an event on the task's partition."
    ),
    partitions=TASK_PARTITIONS,
    retention_ms=DAY_MS,
    values=("StreamTick",),
)
STREAMS_NODE_FACTS = Topic(
    "streams.node-facts",
    key="node address",
    description=(
        "chain.task-events messages that say something about nodes (NodeSelected, "
        "TaskCompleted, NodePenalized, and the LogRetracted of one), copied as they are and "
        "keyed by each node they name, so each reaches the partition of chain.node-events that "
        "holds its node. Header `hydrogen-app`: the streams app that copied it (only that app "
        "folds it)."
    ),
    partitions=NODE_PARTITIONS,
)
OPS_SMOKE = Topic(
    "ops.smoke",
    key="run id",
    description="Self-checks of a deployment: `hydrogen devnet smoke` writes and reads here.",
    partitions=1,
    retention_ms=DAY_MS,
)

_PRIMARY: tuple[Topic, ...] = (
    CHAIN_TASK_EVENTS,
    CHAIN_NODE_EVENTS,
    CHAIN_CONTRACT_EVENTS,
    CHAIN_TX_REQUESTS,
    CHAIN_TX_OUTCOMES,
    INFERENCE_JOBS,
    INFERENCE_RESULTS,
    TASKS_SNAPSHOTS,
    NODES_SNAPSHOTS,
    TASKS_HISTORY,
    CHAIN_INGEST_CURSOR,
    CHAIN_TX_JOURNAL,
    STREAMS_TX_OUTCOMES_BY_TASK,
    STREAMS_TICKS,
    STREAMS_NODE_FACTS,
)
_WITH_DLQ = (
    CHAIN_TASK_EVENTS,
    CHAIN_NODE_EVENTS,
    CHAIN_CONTRACT_EVENTS,
    CHAIN_TX_REQUESTS,
    CHAIN_TX_OUTCOMES,  # the streams' outcome router rejects what it cannot decode
    INFERENCE_JOBS,
    INFERENCE_RESULTS,
    STREAMS_NODE_FACTS,  # the node projection rejects a fact its node's state refuses
)

TOPICS: tuple[Topic, ...] = (*_PRIMARY, *(t.dlq for t in _WITH_DLQ), OPS_SMOKE)


def topic(name: str) -> Topic:
    """The catalog entry named `name`; a KeyError lists the names that exist."""
    for t in TOPICS:
        if t.name == name:
            return t
    known = ", ".join(t.name for t in TOPICS)
    raise KeyError(f"no topic {name!r} in the catalog; known topics: {known}")
