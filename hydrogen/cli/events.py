"""`hydrogen events …`: the event history projected into Postgres, its replays, the live
topics (`tail`) and the history as a table for analysts (`export`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import psycopg
from confluent_kafka import KafkaException
from pydantic import ValidationError

from hydrogen.analytics.endpoints import kafka_bootstrap, pg_dsn
from hydrogen.analytics.errors import AnalyticsError, BadValue
from hydrogen.analytics.export_file import FORMATS, Format, write_rows
from hydrogen.analytics.history_store import COLUMNS, WHAT, What, connect, export_rows
from hydrogen.analytics.tail_consumer import Start, open_tail
from hydrogen.analytics.tail_record import (
    TailFilter,
    decode,
    human_line,
    json_line,
    node_filter,
    task_id_filter,
)
from hydrogen.analytics.time_window import parse_time, window
from hydrogen.cli.signals import stop_on_signals
from schemas.catalog import Topic, topic
from schemas.codec import Codec
from streams.projector import open_projector, replay
from streams.projector_settings import ProjectorSettings

POLL_S = 0.5
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@click.group("events")
def events() -> None:
    """Event history: projections into Postgres, replays, tails of topics, exports."""


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


def _dir_option(f: F) -> F:
    return click.option(
        "--dir",
        "root",
        type=click.Path(file_okay=False, path_type=Path),
        default=".devnet",
        envvar="HYDROGEN_DEVNET_DIR",
        show_default=True,
        show_envvar=True,
        help="Devnet whose Kafka and Postgres to use when no option names them.",
    )(f)


def _catalog_topic(_ctx: click.Context, _param: click.Parameter, name: str) -> Topic:
    try:
        return topic(name)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0])) from exc


def _checked(check: Callable[[], T], param: str) -> T:
    """Run a check of a value; its refusal becomes click's, pointing at the option."""
    try:
        return check()
    except BadValue as exc:
        raise click.BadParameter(str(exc), param_hint=f"'{param}'") from exc


@events.command("tail")
@click.argument("topic_", metavar="TOPIC", callback=_catalog_topic)
@click.option(
    "--from-beginning", is_flag=True, help="Start at the oldest record instead of the end."
)
@click.option("--task", "task_text", metavar="ID", help="Only records of this task.")
@click.option("--node", "node_text", metavar="ADDRESS", help="Only records about this node.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="Stop after N records (those the filters keep) instead of following.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
@click.option(
    "--bootstrap",
    envvar="HYDROGEN_KAFKA_BOOTSTRAP",
    show_envvar=True,
    help="Kafka bootstrap servers (default: the devnet's broker at DIR).",
)
@_dir_option
def tail(
    topic_: Topic,
    from_beginning: bool,
    task_text: str | None,
    node_text: str | None,
    limit: int | None,
    as_json: bool,
    bootstrap: str | None,
    root: Path,
) -> None:
    """Print the records of a catalog topic, decoded, one line each, and follow new ones
    until Ctrl-C (or until --limit records).

    \b
    A line: Kafka time, TOPIC[partition]@offset, record name, key, the record's fields.
    --json: {"topic", "partition", "offset", "timestamp", "timestamp_ms", "key",
    "record_name", "record", "error"} per line, bytes as 0x-hex. A message that does not
    decode is shown with the reason (and, in JSON, its raw "value"), and the tail goes on.

    \b
    --task ID keeps records keyed by the task or with that task_id (on a topic keyed by
    task id, only the partition holding it is read); --node ADDRESS keeps records keyed by
    the node or naming it in any field. Both: records that both keep.

    \b
    Examples:
      hydrogen events tail chain.task-events --from-beginning --task 17
      hydrogen events tail tasks.history --json | jq .record.to_status
      hydrogen events tail chain.node-events --from-beginning --limit 20 \\
          --node 0x90F79bf6EB2c4f870365E785982E1f101E93b906
    """
    filters = TailFilter(
        task_id=_checked(lambda: task_id_filter(task_text), "--task") if task_text else None,
        node=_checked(lambda: node_filter(node_text), "--node") if node_text else None,
    )
    key = filters.task_id.encode() if filters.task_id and topic_.key == "task id" else None
    try:
        address = kafka_bootstrap(bootstrap, root)
        reader = open_tail(address, topic_.name)
        try:
            starts = reader.start(from_beginning, key)
        except AnalyticsError:
            reader.close()
            raise
    except AnalyticsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_following(topic_.name, starts, from_beginning, limit), err=True)
    codec = Codec()
    shown = 0
    try:
        while limit is None or shown < limit:
            for m in reader.poll(POLL_S):
                rec = decode(codec, m.topic, m.partition, m.offset, m.timestamp_ms, m.key, m.value)
                if not filters.matches(rec):
                    continue
                click.echo(json_line(rec) if as_json else human_line(rec))
                shown += 1
                if limit is not None and shown >= limit:
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a tail ends
    except BrokenPipeError:
        _stdout_gone()  # `| head`: the reader has what it wanted
    except AnalyticsError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        reader.close()


def _following(name: str, starts: list[Start], from_beginning: bool, limit: int | None) -> str:
    parts = ("partition " if len(starts) == 1 else "partitions ") + ",".join(
        str(s.partition) for s in starts
    )
    where = "the beginning" if from_beginning else "the end"
    until = f"until {limit} records" if limit else "Ctrl-C stops"
    return f"following {name} {parts} from {where}; {until}"


def _stdout_gone() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@events.command("export")
@click.option(
    "--since", required=True, metavar="TIME", help="First instant (included); see TIME above."
)
@click.option("--until", metavar="TIME", help="Last instant (excluded)  [default: now]")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="File format.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="File to write (replaced once the export is whole).",
)
@click.option(
    "--what",
    type=click.Choice(WHAT),
    default="task-history",
    show_default=True,
    help="task-history: status changes with phase durations; task-events / node-events: "
    "every chain event, one column per record field.",
)
@click.option(
    "--dsn",
    envvar="HYDROGEN_PG_DSN",
    show_envvar=True,
    help="PostgreSQL holding the projection (default: the devnet's at DIR).",
)
@_dir_option
def export(
    since: str, until: str | None, fmt: str, output: Path, what: str, dsn: str | None, root: Path
) -> None:
    """Write the task history (or every task or node event) in a time window as a flat,
    typed table: Parquet or CSV.

    \b
    Rows come from the Postgres projection (`hydrogen events project` fills it), in block
    time order; events a reorg removed are left out. Columns are typed: times are UTC
    timestamps, wei amounts decimal(38,0), chain ids, block numbers and durations integers,
    task ids, addresses and hashes text; in CSV a list is a JSON array. docs/analytics.md
    lists the columns.

    \b
    TIME: ISO 8601 (2026-03-01, 2026-03-01T10:00:00Z, 2026-03-01T11:00+01:00; UTC when no
    offset is given), `now`, or an age before now: 30m, 1h, 7d, 2w.

    \b
    Examples:
      hydrogen events export --since 7d --format parquet --output history.parquet
      hydrogen events export --since 2026-03-01 --until 2026-03-02 --what node-events \\
          --format csv --output nodes.csv
    """
    now = datetime.now(UTC)
    _checked(lambda: parse_time(since, now), "--since")
    span = _checked(lambda: window(since, until, now), "--until")  # --since is good by now
    kind = cast(What, what)
    try:
        conn = connect(pg_dsn(dsn, root))
        try:
            # Closed before the connection, so that its cursor and transaction end first.
            with closing(export_rows(conn, kind, span)) as rows:
                written = write_rows(rows, COLUMNS[kind], cast(Format, fmt), output)
        finally:
            conn.close()
    except AnalyticsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {written} rows of {what} to {output}")
