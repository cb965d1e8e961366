"""The projector's Postgres side: positions, event rows, state rows, dead letters.

Every method runs inside the caller's transaction; the projector opens one per batch and
commits the rows and the positions together.

How state is loaded. A task's state is folded again from its `task_events` rows (at most
about twenty per task), in the order they were consumed, with each retraction replayed at
the offset where it was read: the rows are the exact messages, so the fold is the one the
live projector made. A node's state is folded from its `node_events` rows and the facts its
task events imply (`streams.projection.node_inputs`), retracted rows left out, in chain order.
No second copy of the state is stored, so it cannot drift from the events.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from schemas.codec import Codec
from streams.domain import task
from streams.domain.events import LogRetracted, NodeEvent, TaskEvent, parse
from streams.domain.node import NodeState
from streams.domain.task import TaskState
from streams.projection import Message, Rejected, at_ms, fold_node, node_inputs

log = logging.getLogger(__name__)

TaskKey = tuple[int, str]  # (chain id, task id)
NodeKey = tuple[int, str]  # (chain id, node address)

PROJECTION_TABLES = ("tasks", "task_events", "nodes", "node_events")

_TASK_COLUMNS = [
    "chain_id",
    "task_id",
    "status",
    "abort_reason",
    "creator",
    "task_type",
    "args_hash",
    "model_ids",
    "min_vram",
    "vram_tier",
    "fee",
    "selected_nodes",
    "agreeing_nodes",
    "result_node",
    "result",
    "payouts",
    "penalties",
    "refund",
    "created_at",
    "queued_at",
    "started_at",
    "disclosing_at",
    "validated_at",
    "ended_at",
    "deadline",
    "version",
    "last_event_id",
    "last_block_number",
    "last_log_index",
    "updated_at",
]
_NODE_COLUMNS = [
    "chain_id",
    "address",
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
]
_EVENT_COLUMNS = [
    "event_id",
    "block_hash",
    "chain_id",
    "record_name",
    "block_number",
    "log_index",
    "block_time",
    "tx_hash",
    "record",
    "message",
    "kafka_partition",
    "kafka_offset",
]


def _upsert(table: str, columns: list[str], key: tuple[str, ...]) -> str:
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608 (names are ours, not input)
        f" VALUES ({', '.join(f'%({c})s' for c in columns)})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


_UPSERT_TASK = _upsert("tasks", _TASK_COLUMNS, ("chain_id", "task_id"))
_UPSERT_NODE = _upsert("nodes", _NODE_COLUMNS, ("chain_id", "address"))


def _insert_event(table: str, subject: str, extra: tuple[str, ...]) -> str:
    columns = [*_EVENT_COLUMNS, subject, *extra]
    values = [f"%({'subject' if c == subject else c})s" for c in columns]
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)})"  # noqa: S608
        " ON CONFLICT (event_id, block_hash) DO NOTHING"
    )


_INSERT_TASK_EVENT = _insert_event("task_events", "task_id", ("nodes",))
_INSERT_NODE_EVENT = _insert_event("node_events", "node", ())


class ProjectionStore:
    def __init__(self, conn: psycopg.Connection[Any], codec: Codec) -> None:
        self.conn = conn
        self.codec = codec

    # ---- positions ----

    def offsets(self, consumer: str) -> dict[tuple[str, int], int]:
        rows = self.conn.execute(
            "SELECT topic, partition, next_offset FROM projection_offsets WHERE consumer = %s",
            (consumer,),
        ).fetchall()
        return {(t, p): o for t, p, o in rows}

    def save_offsets(self, consumer: str, positions: Mapping[tuple[str, int], int]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO projection_offsets (consumer, topic, partition, next_offset)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (consumer, topic, partition)
                   DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()""",
                [(consumer, t, p, o) for (t, p), o in positions.items()],
            )

    # ---- loading state ----

    def _decode(self, message: bytes) -> Any:
        name, record = self.codec.decode(message)
        return parse(name, record)

    def task_states(self, keys: Iterable[TaskKey]) -> dict[TaskKey, TaskState]:
        """Each task's state, folded from its stored events and retractions."""
        keys = list(keys)
        inputs: dict[TaskKey, list[tuple[int, TaskEvent | LogRetracted]]] = defaultdict(list)
        if keys:
            rows = self.conn.execute(
                """SELECT chain_id, task_id, message, kafka_offset, retracted_offset,
                          event_id, record_name, block_number, block_hash, retracted_fork,
                          retracted_at
                     FROM task_events
                    WHERE (chain_id, task_id) IN
                          (SELECT * FROM unnest(%s::bigint[], %s::text[]))""",
                ([c for c, _ in keys], [t for _, t in keys]),
            ).fetchall()
            for chain_id, task_id, message, offset, retracted_offset, *retraction in rows:
                inputs[(chain_id, task_id)].append((offset, self._decode(message)))
                if retracted_offset is not None:
                    inputs[(chain_id, task_id)].append(
                        (retracted_offset, _retraction(chain_id, *retraction))
                    )
        return {
            key: task.replay(key[1], (e for _, e in sorted(inputs[key], key=lambda i: i[0])))
            for key in keys
        }

    def node_states(self, keys: Iterable[NodeKey]) -> dict[NodeKey, NodeState]:
        """Each node's state, folded from its standing registry events and task facts."""
        keys = list(keys)
        if not keys:
            return {}
        registry: dict[NodeKey, list[NodeEvent]] = defaultdict(list)
        for chain_id, address, message in self.conn.execute(
            """SELECT chain_id, node, message FROM node_events
                WHERE NOT retracted
                  AND (chain_id, node) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))""",
            ([c for c, _ in keys], [a for _, a in keys]),
        ):
            registry[(chain_id, address)].append(self._decode(message))
        wanted = set(keys)
        facts: dict[NodeKey, list[TaskEvent]] = defaultdict(list)
        for chain_id, nodes, message in self.conn.execute(
            """SELECT chain_id, nodes, message FROM task_events
                WHERE NOT retracted AND nodes && %s::text[] AND chain_id = ANY(%s::bigint[])""",
            (sorted({a for _, a in keys}), sorted({c for c, _ in keys})),
        ):
            concerned = [(chain_id, n) for n in nodes if (chain_id, n) in wanted]
            if concerned:
                event = self._decode(message)
                for key in concerned:
                    facts[key].append(event)
        states = {}
        for key in keys:
            inputs = node_inputs(key[1], registry[key], facts[key])
            states[key], refused = fold_node(key[1], inputs)
            for i, exc in refused:
                log.warning("node=%s left %s out of its fold: %s", key[1], i.meta.event_id, exc)
        return states

    # ---- writing ----

    def insert_task_event(self, row: Mapping[str, Any]) -> None:
        self.conn.execute(_INSERT_TASK_EVENT, {**row, "record": Jsonb(row["record"])})

    def insert_node_event(self, row: Mapping[str, Any]) -> None:
        self.conn.execute(_INSERT_NODE_EVENT, {**row, "record": Jsonb(row["record"])})

    def retract(self, table: str, retraction: LogRetracted, offset: int) -> str | None:
        """Mark the retracted copy of an event; the task id or node it belonged to, or None
        when no standing row is that copy."""
        if table not in ("task_events", "node_events"):
            raise ValueError(f"no event table {table!r}")
        subject = "task_id" if table == "task_events" else "node"
        row = self.conn.execute(
            f"""UPDATE {table}
                   SET retracted = true, retracted_at = %s, retracted_fork = %s,
                       retracted_offset = %s
                 WHERE event_id = %s AND block_hash = %s AND NOT retracted
             RETURNING {subject}""",  # noqa: S608 (table checked above)
            (
                at_ms(retraction.detected_at_ms),
                retraction.fork_block_number,
                offset,
                retraction.event_id,
                retraction.block_hash,
            ),
        ).fetchone()
        return None if row is None else str(row[0])

    def upsert_tasks(self, rows: Iterable[Mapping[str, Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_UPSERT_TASK, list(rows))

    def upsert_nodes(self, rows: Iterable[Mapping[str, Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_UPSERT_NODE, list(rows))

    def dead_letter(self, consumer: str, message: Message, why: Rejected) -> None:
        self.conn.execute(
            """INSERT INTO projection_dead_letters
                   (consumer, topic, partition, kafka_offset, key, value, error_type, reason)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT DO NOTHING""",
            (
                consumer,
                message.topic,
                message.partition,
                message.offset,
                message.key,
                message.value,
                why.error_type,
                why.reason,
            ),
        )

    # ---- replay ----

    def reset(self, consumer: str) -> None:
        """Drop every projected row and the consumer's positions (the caller's transaction)."""
        self.conn.execute(f"TRUNCATE {', '.join(PROJECTION_TABLES)}")
        self.conn.execute("DELETE FROM projection_dead_letters WHERE consumer = %s", (consumer,))
        self.conn.execute("DELETE FROM projection_offsets WHERE consumer = %s", (consumer,))

    def counts(self) -> dict[str, int]:
        out = {}
        for table in (*PROJECTION_TABLES, "projection_dead_letters"):
            (n,) = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)  # noqa: S608
            out[table] = int(n)
        return out


def _retraction(
    chain_id: int,
    event_id: str,
    record_name: str,
    block_number: int,
    block_hash: str,
    fork: int,
    retracted_at: datetime,
) -> LogRetracted:
    """The LogRetracted a marked row was marked by (every field the domain reads)."""
    return LogRetracted(
        event_id=event_id,
        record=record_name,
        chain_id=chain_id,
        block_number=block_number,
        block_hash=block_hash,
        fork_block_number=fork,
        detected_at_ms=round(retracted_at.timestamp() * 1000),
    )
