"""`hydrogen streams …`: the faust stream processors."""

from __future__ import annotations

import click
from confluent_kafka.admin import AdminClient
from pydantic import ValidationError

from hydrogen.topics import TopicMismatchError, ensure_topics


@click.group("streams")
def streams() -> None:
    """The stream processors: task projection, node sagas and the deadline keeper (faust)."""


@streams.command("worker")
@click.option(
    "-l",
    "--loglevel",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log level of the worker.",
)
def worker(loglevel: str) -> None:
    """Run one faust worker: chain.task-events into the task projection (tasks.snapshots,
    tasks.history) and our nodes' sagas (inference.jobs, chain.tx-requests).

    \b
    Settings come from HYDROGEN_STREAMS_* variables:
      KAFKA_BOOTSTRAP  APP_ID  NODE_ADDRESSES (comma-separated)  KEEPER_ADDRESS
      NONCE_SECRET  WEB_HOST  WEB_PORT  DATA_DIR  TICK_SECONDS
    Creates the tables' changelog topics if missing (the catalog topics must exist:
    `hydrogen topics create`). Runs until SIGINT or SIGTERM.
    """
    from streams.app import changelog_topics, create_app  # noqa: PLC0415 (faust is slow to import)
    from streams.settings import StreamsSettings  # noqa: PLC0415
    from streams.worker import run_worker  # noqa: PLC0415

    try:
        settings = StreamsSettings()  # type: ignore[call-arg]
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    try:
        ensure_topics(admin, changelog_topics(settings))
    except TopicMismatchError as exc:
        raise click.ClickException(str(exc)) from exc
    run_worker(create_app(settings), loglevel)
