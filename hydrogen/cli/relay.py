"""`hydrogen relay …`: serve the relay API, and manage managed mode's API keys."""

from __future__ import annotations

import asyncio
import json

import click
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from relay_api.client import RelayClient, RelayClientError
from relay_api.managed import create_api_key
from relay_api.serve import serve
from relay_api.settings import RelaySettings


@click.group("relay")
def relay() -> None:
    """The relay: task args and result images, task status and events, managed mode."""


def _settings(**overrides: object) -> RelaySettings:
    try:
        return RelaySettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc


@relay.command("serve")
@click.option("--host", help="Address to bind (default: HYDROGEN_RELAY_HOST, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: HYDROGEN_RELAY_PORT, 18080).")
@click.option("--workers", type=int, default=1, show_default=True, help="uvicorn processes.")
def serve_command(host: str | None, port: int | None, workers: int) -> None:
    """Serve the relay API until SIGTERM or SIGINT (OpenAPI at /docs).

    \b
    Settings come from HYDROGEN_RELAY_* variables, e.g.:
      PG_DSN  KAFKA_BOOTSTRAP  RPC_URL  DEPLOYMENT_FILE  STORE (filesystem|s3)  BLOB_DIR
      S3_ENDPOINT  S3_ACCESS_KEY  S3_SECRET_KEY  MAX_ARGS_BYTES  MAX_IMAGE_BYTES
      RETENTION_S  SIGNATURE_WINDOW_S  RELAY_ADDRESS
    """
    settings = _settings(host=host, port=port)
    if workers > 1 and (host is not None or port is not None):
        raise click.UsageError("with --workers, set HYDROGEN_RELAY_HOST/PORT instead of options")
    serve(settings, workers=workers)


@relay.command("api-key")
@click.argument("name")
@click.option("--rate", type=int, default=60, show_default=True, help="Requests a minute.")
def api_key(name: str, rate: int) -> None:
    """Create an API key for managed mode and print it once (only its hash is stored)."""
    settings = _settings()

    async def create() -> tuple[int, str]:
        async with AsyncConnectionPool(settings.pg_dsn, min_size=1, max_size=1, open=False) as pool:
            key = await create_api_key(pool, name, rate)
            return key.id, key.key

    key_id, key = asyncio.run(create())
    click.echo(f"API key {key_id} ({name}, {rate}/min): {key}")


url_option = click.option(
    "--url",
    envvar="HYDROGEN_RELAY_URL",
    default="http://127.0.0.1:18080",
    show_default=True,
    show_envvar=True,
    help="The relay to ask.",
)


@relay.command("task")
@click.argument("task_id")
@url_option
def task_command(task_id: str, url: str) -> None:
    """Print a task's status as the relay reports it (JSON)."""
    with RelayClient(url) as client:
        try:
            info = client.task(task_id)
        except RelayClientError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(info.raw, indent=1))


@relay.command("events")
@click.argument("task_id")
@url_option
@click.option("--last-event-id", help="Resume after this event id.")
def events_command(task_id: str, url: str, last_event_id: str | None) -> None:
    """Follow a task's status changes until it ends (one line per change)."""
    with RelayClient(url) as client:
        try:
            for event in client.events(task_id, last_event_id=last_event_id):
                d = event.data
                click.echo(
                    f"{event.id:>8}  {d.get('changed_at') or '-':<32} "
                    f"{d.get('from_status')} -> {d.get('to_status')}"
                )
        except RelayClientError as exc:
            raise click.ClickException(str(exc)) from exc
