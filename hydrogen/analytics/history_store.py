"""The rows of `hydrogen events export`, read from the Postgres projection.

Why Postgres rather than the topics: the projection already holds every chain event once,
typed, indexed by block time and marked when a reorg removed it, and `tasks` holds the block
time at which each task entered each status, which is all tasks.history is made of. Reading
a window of it is an index range scan; reading the topics for a window would mean scanning
them from offset 0 (they are kept forever and ordered by arrival, not by block time) and
folding every task again.

Rows stream through a server-side cursor, so an export of any size holds one batch in memory.
Events a reorg removed (`retracted`) are left out: they are not on the chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from hydrogen.analytics.columns import TASK_HISTORY_COLUMNS, Column
from hydrogen.analytics.errors import SourceError
from hydrogen.analytics.flat_event import NODE_EVENTS, TASK_EVENTS, EventTable
from hydrogen.analytics.time_window import Window

What = Literal["task-history", "task-events", "node-events"]
WHAT: tuple[What, ...] = ("task-history", "task-events", "node-events")
FETCH_ROWS = 5_000
Rows = Generator[dict[str, Any], None, None]  # close() ends the cursor and its transaction
COLUMNS: dict[What, tuple[Column, ...]] = {
    "task-history": TASK_HISTORY_COLUMNS,
    "task-events": TASK_EVENTS.columns,
    "node-events": NODE_EVENTS.columns,
}

_TASK_HISTORY = """
    SELECT c.changed_at, c.chain_id, c.task_id, c.step, c.from_status, c.to_status,
           c.abort_reason, c.phase_ms, c.since_created_ms,
           t.task_type, t.creator, t.model_ids, t.fee
    FROM analytics.task_status_changes c
    JOIN tasks t USING (chain_id, task_id)
    WHERE c.changed_at >= %(since)s AND c.changed_at < %(until)s
    ORDER BY c.changed_at, c.chain_id, c.task_id, c.step
"""
_EVENTS = """
    SELECT block_time, chain_id, {subject} AS {alias}, record_name, event_id, block_number,
           log_index, tx_hash, block_hash, record
    FROM {table}
    WHERE NOT retracted AND block_time >= %(since)s AND block_time < %(until)s
    ORDER BY block_time, chain_id, block_number, log_index
"""
_TASK_EVENTS = _EVENTS.format(subject="task_id", alias="task_id", table="task_events")
_NODE_EVENTS = _EVENTS.format(subject="node", alias="node", table="node_events")


def export_rows(conn: psycopg.Connection[Any], what: What, window: Window) -> Rows:
    """The rows of `what` in `window`, in time order, keyed by the export's column names."""
    params = {"since": window.since, "until": window.until}
    if what == "task-history":
        yield from _stream(conn, _TASK_HISTORY, params)
    elif what == "task-events":
        yield from _events(conn, _TASK_EVENTS, params, TASK_EVENTS)
    else:
        yield from _events(conn, _NODE_EVENTS, params, NODE_EVENTS)


def _events(
    conn: psycopg.Connection[Any], sql: str, params: dict[str, Any], table: EventTable
) -> Rows:
    for row in _stream(conn, sql, params):
        yield table.row(row, row["record"])


def _stream(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> Rows:
    try:
        with (
            conn.transaction(),
            conn.cursor(
                name=f"analytics-export-{uuid.uuid4().hex[:8]}", row_factory=dict_row
            ) as cursor,
        ):
            cursor.itersize = FETCH_ROWS
            cursor.execute(sql, params)
            yield from cursor
    except psycopg.errors.UndefinedTable as exc:
        raise SourceError(
            f"the database has no projection or no analytics views ({exc.diag.message_primary}):"
            " run `hydrogen db migrate`"
        ) from exc
    except psycopg.Error as exc:
        raise SourceError(f"reading the projection failed: {exc}") from exc


def connect(dsn: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as exc:
        raise SourceError(f"cannot connect to PostgreSQL ({_redacted(dsn)}): {exc}") from exc


def _redacted(dsn: str) -> str:
    """The DSN without its password, to name the database in an error."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "an unreadable DSN"
    return " ".join(f"{k}={v}" for k, v in info.items() if k != "password")
