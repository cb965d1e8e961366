"""`hydrogen events …`: the event history projected into Postgres, and its replays."""

from __future__ import annotations

import click
import psycopg
from confluent_kafka import KafkaException
from pydantic import ValidationError

from hydrogen.cli.signals import stop_on_signals
from streams.projector import open_projector, replay
from streams.projector_settings import ProjectorSettings


@click.group("events")
def events() -> None:
    """Event history: projections into Postgres, replays."""


def _settings(**overrides: object) -> ProjectorSettings:
    try:
        return ProjectorSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc


@events.command("project")
def project() -> None:
    """Project chain.task-events and chain.node-events into the Postgres tables tasks,
    task_events, nodes and node_events, following the topics until SIGTERM or SIGINT.

    \b
    Settings come from HYDROGEN_PROJECTOR_* variables:
      KAFKA_BOOTSTRAP  PG_DSN  CONSUMER  BATCH_SIZE  POLL_TIMEOUT
    Each batch commits its rows and its positions (projection_offsets) in one transaction;
    a restart resumes after the last committed batch. The database must be migrated
    (`hydrogen db migrate`).
    """
    settings = _settings()
    stop = stop_on_signals()
    try:
        projector = open_projector(settings)
        try:
            projector.run(stop)
        finally:
            projector.close()
    except (KafkaException, psycopg.Error) as exc:
        raise click.ClickException(str(exc)) from exc


@events.command("replay")
@click.option("--dsn", help="PostgreSQL connection string (default: HYDROGEN_PROJECTOR_PG_DSN).")
@click.option(
    "--bootstrap", help="Kafka bootstrap servers (default: HYDROGEN_PROJECTOR_KAFKA_BOOTSTRAP)."
)
def replay_command(dsn: str | None, bootstrap: str | None) -> None:
    """Drop the projected rows and the projector's positions, then project every event from
    offset 0 to the topics' current end, and stop.

    The rebuilt tables equal what the live projector has for the same events. Readers see
    them fill up while it runs; stop `hydrogen events project` (same consumer name) first.
    """
    settings = _settings(pg_dsn=dsn, kafka_bootstrap=bootstrap)
    try:
        projector = open_projector(settings)
        try:
            outcome = replay(projector)
        finally:
            projector.close()
    except (KafkaException, psycopg.Error) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"replayed {outcome.messages} messages in {outcome.seconds:.1f} s"
        f" ({outcome.dead} dead letters)"
    )
    for table, n in outcome.counts.items():
        click.echo(f"  {table:<24} {n:>8} rows")
