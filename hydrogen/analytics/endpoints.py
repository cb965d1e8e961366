"""Where the analytics commands find Kafka and Postgres.

An option (or its HYDROGEN_* variable) wins; without one, the devnet folder (`--dir`,
default `.devnet`) says where its broker and database listen, as `hydrogen devnet status`
shows them. Nothing is started here: only the devnet's state file is read.
"""

from __future__ import annotations

from pathlib import Path

from hydrogen.analytics.errors import SourceError
from hydrogen.devnet.layout import Layout
from hydrogen.devnet.supervisor import Devnet


def kafka_bootstrap(bootstrap: str | None, root: Path) -> str:
    if bootstrap:
        return bootstrap
    return _devnet(root, "Kafka", "--bootstrap (or HYDROGEN_KAFKA_BOOTSTRAP)").kafka.address


def pg_dsn(dsn: str | None, root: Path) -> str:
    if dsn:
        return dsn
    return _devnet(root, "PostgreSQL", "--dsn (or HYDROGEN_PG_DSN)").postgres.dsn


def _devnet(root: Path, service: str, option: str) -> Devnet:
    layout = Layout(root)
    if layout.read_state() is None:
        raise SourceError(
            f"no {service} to read: pass {option}, or --dir of a devnet "
            f"(there is none at {layout.root})"
        )
    return Devnet.open(root)
