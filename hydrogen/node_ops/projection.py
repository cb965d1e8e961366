"""The read model's row of a node (the `nodes` table the projector writes), if Postgres
answers: `node status` shows it beside the chain's view, and goes on without it."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from hydrogen.node_ops.errors import ProjectionUnavailable
from hydrogen.node_ops.node_view import PROJECTED_COLUMNS, Projection

CONNECT_TIMEOUT_S = 3


def projected_node(dsn: str, chain_id: int, address: str) -> Projection:
    try:
        return Projection(row=_row(dsn, chain_id, address))
    except ProjectionUnavailable as exc:
        return Projection(error=str(exc))


def _row(dsn: str, chain_id: int, address: str) -> dict[str, object] | None:
    try:
        with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, row_factory=dict_row) as conn:
            row = conn.execute(
                f"SELECT {', '.join(PROJECTED_COLUMNS)} FROM nodes"  # noqa: S608 (our column names)
                " WHERE chain_id = %s AND address = %s",
                (chain_id, address),
            ).fetchone()
    except psycopg.errors.UndefinedTable as exc:
        raise ProjectionUnavailable(
            "the database has no nodes table: run `hydrogen db migrate`"
        ) from exc
    except psycopg.Error as exc:
        # The first line names the cause (refused, auth, unknown database); not the DSN,
        # which may carry a password.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProjectionUnavailable(f"Postgres unreachable: {first}") from exc
    return row
