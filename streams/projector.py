"""The Postgres projector: chain.task-events and chain.node-events into `tasks`, `nodes`,
`task_events` and `node_events`, with the position stored with its effect.

A plain consumer that owns its positions in Postgres: it `assign()`s every partition at the
`next_offset` that `projection_offsets` holds (the beginning when there is none), reads
committed messages only (the chain ingest writes in Kafka transactions) and never commits to
Kafka. Each batch is ONE Postgres transaction: the event rows, the task and node rows, the
dead letters and the new positions commit together or not at all. After a crash (`kill -9`
included) the projector starts again from the positions of its last committed batch, so
nothing is applied twice and nothing is skipped; a batch that fails leaves the process to
stop (the loop does not catch), and a restart reads the batch again.

One batch:

1. decode each message into a typed chain event (`streams.projection.read_message`);
2. load the state of every task and node the batch touches (`ProjectionStore`: folded again
   from the stored events; no other copy of the state exists);
3. evolve them with the domain in message order; an applied event gets its row, a retraction
   marks its row, a redelivery changes nothing;
4. write the changed task rows, fold the touched nodes again in chain order and write theirs,
   and save the positions.

Bad messages. An undecodable message, or one the domain refuses (a transition the contract
cannot emit, a node status that does not follow), is written to `projection_dead_letters` with
its error and reason in the same transaction that moves past it, rather than to the topic's
`.dlq`: a Kafka write cannot join a Postgres transaction, so a crash or a replay would record
it again. Exactly one row per bad message, and replays rebuild them like every other row.

Replay (`replay`): drop every projected row, the dead letters and the consumer's positions in
one transaction, then project from offset 0 to the end the topics have when it starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from schemas.catalog import CHAIN_NODE_EVENTS, CHAIN_TASK_EVENTS
from schemas.codec import Codec
from streams.domain import node, task
from streams.domain.errors import DomainError
from streams.domain.events import LogRetracted
from streams.domain.node import node_retractions
from streams.projection import (
    Message,
    Read,
    Rejected,
    event_row,
    fact_nodes,
    node_row,
    read_message,
    rejected,
    route,
    task_row,
)
from streams.projector_settings import ProjectorSettings
from streams.projector_store import NodeKey, ProjectionStore, TaskKey

log = logging.getLogger(__name__)

TOPICS = (CHAIN_TASK_EVENTS.name, CHAIN_NODE_EVENTS.name)


@dataclass
class BatchOutcome:
    messages: int = 0
    applied: int = 0
    dead: int = 0
    skipped: int = 0  # records no read model folds
    tasks: set[TaskKey] = field(default_factory=set)
    nodes: set[NodeKey] = field(default_factory=set)


def project_batch(
    store: ProjectionStore, consumer: str, messages: Sequence[Message]
) -> BatchOutcome:
    """Apply `messages` to the projection and save the positions after them. Runs in the
    caller's transaction."""
    out = BatchOutcome(messages=len(messages))
    reads: list[tuple[Read, TaskKey | NodeKey, str]] = []
    for message in messages:
        try:
            read = read_message(store.codec, message)
            if read is None:
                out.skipped += 1
                continue
            where = route(read)
        except Rejected as why:
            _dead(store, consumer, message, why, out)
            continue
        reads.append((read, (where.chain_id, where.subject), where.kind))

    tasks = store.task_states(dict.fromkeys(k for _, k, kind in reads if kind == "task"))
    nodes = store.node_states(dict.fromkeys(k for _, k, kind in reads if kind == "node"))
    for read, key, kind in reads:
        try:
            if kind == "task":
                _apply_task(store, tasks, key, read, out)
            else:
                _apply_node(store, nodes, key, read, out)
        except DomainError as exc:
            _dead(store, consumer, read.message, rejected(exc), out)

    store.upsert_tasks(task_row(k[0], tasks[k]) for k in sorted(out.tasks))
    refolded = store.node_states(sorted(out.nodes))
    store.upsert_nodes(node_row(k[0], refolded[k]) for k in sorted(out.nodes))
    positions: dict[tuple[str, int], int] = {}
    for m in messages:
        positions[(m.topic, m.partition)] = max(
            positions.get((m.topic, m.partition), 0), m.offset + 1
        )
    store.save_offsets(consumer, positions)
    return out


def _dead(
    store: ProjectionStore, consumer: str, message: Message, why: Rejected, out: BatchOutcome
) -> None:
    log.warning("dead letter %s %s: %s", message.where(), why.error_type, why.reason)
    store.dead_letter(consumer, message, why)
    out.dead += 1


def _apply_task(
    store: ProjectionStore,
    tasks: dict[TaskKey, task.TaskState],
    key: TaskKey,
    read: Read,
    out: BatchOutcome,
) -> None:
    state = tasks[key]
    event = read.event
    new = task.evolve(state, event)  # type: ignore[arg-type]  # route() let only these through
    if new is state:
        log.debug("task_id=%s already applied %s", key[1], read.message.where())
        return
    chain_id = key[0]
    if isinstance(event, LogRetracted):
        store.retract("task_events", event, read.message.offset)
        out.nodes.update((chain_id, n) for n, _ in node_retractions(state, event))
        log.info("task_id=%s retracted %s %s", key[1], event.event_id, read.message.where())
    else:
        store.insert_task_event(event_row(read, key[1]))
        out.nodes.update((chain_id, n) for n in fact_nodes(event))  # type: ignore[arg-type]
    tasks[key] = new
    out.tasks.add(key)
    out.applied += 1


def _apply_node(
    store: ProjectionStore,
    nodes: dict[NodeKey, node.NodeState],
    key: NodeKey,
    read: Read,
    out: BatchOutcome,
) -> None:
    event = read.event
    if isinstance(event, LogRetracted):
        # Marked and folded again without it: the node's fold leaves retracted rows out,
        # however old the event is.
        if store.retract("node_events", event, read.message.offset) is None:
            return
        nodes[key] = store.node_states([key])[key]
        log.info("node=%s retracted %s %s", key[1], event.event_id, read.message.where())
    else:
        state = nodes[key]
        new = node.evolve(state, event)  # type: ignore[arg-type]
        if new is state:
            return
        store.insert_node_event(event_row(read, key[1]))
        nodes[key] = new
    out.nodes.add(key)
    out.applied += 1


class Projector:
    """The consumer loop around `project_batch`: one Postgres transaction per batch."""

    def __init__(
        self,
        consumer: Consumer,
        conn: psycopg.Connection[Any],
        name: str,
        codec: Codec,
        batch_size: int = 500,
        poll_timeout: float = 1.0,
        topics: Sequence[str] = TOPICS,
    ) -> None:
        self.consumer = consumer
        self.conn = conn
        self.name = name
        self.store = ProjectionStore(conn, codec)
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.topics = tuple(topics)
        self.partitions: list[TopicPartition] = []

    def assign(self) -> None:
        """Assign every partition of the topics at the position Postgres holds for it."""
        with self.conn.transaction():
            stored = self.store.offsets(self.name)
        metadata = self.consumer.list_topics(timeout=10)
        self.partitions = []
        for topic in self.topics:
            if topic not in metadata.topics or metadata.topics[topic].error is not None:
                raise KafkaException(f"topic {topic!r} does not exist; create it from the catalog")
            for p in sorted(metadata.topics[topic].partitions):
                offset = stored.get((topic, p), OFFSET_BEGINNING)
                self.partitions.append(TopicPartition(topic, p, offset))
                log.info("assigned topic=%s partition=%s offset=%s", topic, p, offset)
        self.consumer.assign(self.partitions)

    def step(self) -> BatchOutcome:
        """Read one batch and apply it in one transaction; an empty outcome when idle."""
        polled = self.consumer.consume(self.batch_size, self.poll_timeout)
        messages = []
        for m in polled:
            error = m.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("topic=%s partition=%s: %s", m.topic(), m.partition(), error)
                continue
            messages.append(
                Message(m.topic(), m.partition(), m.offset(), m.key(), m.value())  # type: ignore[arg-type]
            )
        if not messages:
            return BatchOutcome()
        with self.conn.transaction():
            out = project_batch(self.store, self.name, messages)
        last = messages[-1]
        log.debug("batch of %d committed, last %s", len(messages), last.where())
        return out

    def ends(self) -> dict[tuple[str, int], tuple[int, int]]:
        """(low, high) watermark of every partition of the topics, as the broker has them now.

        Ask before `assign()`: once partitions are assigned, each query waits on the fetcher
        (seconds per partition).
        """
        metadata = self.consumer.list_topics(timeout=10)
        out = {}
        for topic in self.topics:
            for p in sorted(metadata.topics[topic].partitions):
                out[(topic, p)] = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=10
                )
        return out

    def caught_up(self, ends: dict[tuple[str, int], tuple[int, int]]) -> bool:
        """Whether the consumer has read past `ends` on every partition.

        Positions, not the stored offsets: the last thing on a partition may be a transaction
        marker, which the consumer steps over but no message's offset reaches.
        """
        start = {(tp.topic, tp.partition): tp.offset for tp in self.partitions}
        positions = self.consumer.position([TopicPartition(t, p) for t, p in ends])
        for tp in positions:
            low, high = ends[(tp.topic, tp.partition)]
            # Nothing read since assign(): the position is "invalid", the start is where it is.
            at = tp.offset if tp.offset >= 0 else max(start.get((tp.topic, tp.partition), 0), low)
            if at < high:
                return False
        return True

    def run(self, stop: threading.Event) -> None:
        self.assign()
        while not stop.is_set():
            self.step()

    def close(self) -> None:
        self.consumer.close()
        self.conn.close()


@dataclass(frozen=True)
class ReplayOutcome:
    messages: int
    dead: int
    seconds: float
    counts: dict[str, int]


def replay(projector: Projector, clock: Any = time.monotonic) -> ReplayOutcome:
    """Drop the projection and the positions, then project from offset 0 to the topics' end
    as it is now."""
    started = clock()
    with projector.conn.transaction():
        projector.store.reset(projector.name)
    ends = projector.ends()
    projector.assign()
    messages = dead = 0
    while not projector.caught_up(ends):
        out = projector.step()
        messages += out.messages
        dead += out.dead
    with projector.conn.transaction():
        counts = projector.store.counts()
    return ReplayOutcome(messages, dead, clock() - started, counts)


def open_projector(settings: ProjectorSettings, codec: Codec | None = None) -> Projector:
    """The projector the settings describe: a consumer and a Postgres connection."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            # Required by the client; never used to join a group or to commit.
            "group.id": f"hydrogen-{settings.consumer}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
        }
    )
    conn = psycopg.connect(settings.pg_dsn, autocommit=True)
    return Projector(
        consumer,
        conn,
        settings.consumer,
        codec or Codec(),
        batch_size=settings.batch_size,
        poll_timeout=settings.poll_timeout,
    )
