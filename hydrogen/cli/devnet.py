"""`hydrogen devnet ...`: start, inspect and stop the local network of real services."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import click

from hydrogen.devnet.service import DevnetError
from hydrogen.devnet.smoke import run_smoke
from hydrogen.devnet.supervisor import Devnet
from hydrogen.topics import describe_topics
from schemas.catalog import TOPICS

LOG_NAMES = [
    "kafka",
    "postgres",
    "anvil",
    "objectstore",
    "relay",
    "models",
    "bridge-ingest",
    "bridge-submit",
    "events-project",
    "streams-worker",
    "inference",
]

# What `stop` and `start` act on: every service and app (`models` is a one-off job's log).
SERVICE_NAMES = [name for name in LOG_NAMES if name != "models"]

dir_option = click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".devnet",
    envvar="HYDROGEN_DEVNET_DIR",
    show_default=True,
    show_envvar=True,
    help="Folder holding the devnet's data, logs and PIDs.",
)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group()
def devnet() -> None:
    """A local network of real services on 127.0.0.1: Apache Kafka (KRaft), PostgreSQL,
    anvil with the contracts deployed, object storage (a folder, or SeaweedFS S3) and the
    relay; with `up --network`, the bridge, streams and GPU consumer of N devnet nodes too."""


@devnet.command()
@dir_option
@click.option(
    "--s3/--no-s3",
    default=None,
    help="Store blobs in SeaweedFS's S3 gateway instead of a folder. Fixed at the first `up`.",
)
@click.option(
    "--network",
    is_flag=True,
    help="Also run the network: bridge ingest and submit, the events projector, the streams "
    "worker and the GPU consumer, with --nodes devnet nodes joined on chain. Kept for later `up`s.",
)
@click.option(
    "--nodes",
    type=int,
    default=3,
    show_default=True,
    help="How many devnet nodes the network runs (with --network).",
)
def up(root: Path, s3: bool | None, network: bool, nodes: int) -> None:
    """Start every service that is not running and wait until all are healthy.

    Idempotent: run it again at any time. The first run fetches Kafka's jars (cached after),
    formats storage, creates the catalog's topics, applies the database migrations and deploys
    the contracts (recorded in DIR/deployment.json). With --network, the first run also writes
    the tiny models (DIR/models) and joins the nodes on chain, staking the minimum.
    """
    started = time.monotonic()
    try:
        net = Devnet.open(root, s3=s3, nodes=nodes if network else None)
        statuses = net.up(progress=click.echo)
    except DevnetError as exc:
        raise _fail(exc) from exc
    click.echo(f"\ndevnet up in {time.monotonic() - started:.1f}s at {net.layout.root}")
    _print_services([*statuses, *net.app_status()])
    click.echo(f"\ncontracts: {net.layout.deployment_file}")
    click.echo(f"postgres:  {net.postgres.dsn}")
    click.echo(f"relay:     {net.relay.address}")


@devnet.command()
@dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(root: Path, as_json: bool) -> None:
    """Health, address and PID of each service, the Kafka version, and the catalog's topics
    with their partition counts. Exits 1 if a service is not healthy."""
    if not (root / "state.json").exists():
        raise click.ClickException(
            f"no devnet at {root.resolve()}; start one with `hydrogen devnet up`"
        )
    net = Devnet.open(root)
    statuses = net.status()
    apps = net.app_status()
    topics = {}
    if net.kafka.health().ok:
        topics = describe_topics(net.kafka.admin(), [t.name for t in TOPICS])
    if as_json:
        click.echo(
            json.dumps(
                {
                    "root": str(net.layout.root),
                    "kafka_version": net.kafka.version(),
                    "services": [asdict(s) for s in statuses],
                    "apps": [asdict(a) for a in apps],
                    "relay_url": net.relay.address,
                    "topics": [
                        {
                            "name": t.name,
                            "expected_partitions": t.partitions,
                            "cleanup": str(t.cleanup),
                            "partitions": topics[t.name].partitions if t.name in topics else None,
                        }
                        for t in TOPICS
                    ],
                },
                indent=1,
            )
        )
    else:
        click.echo(f"devnet at {net.layout.root}\n")
        _print_services([*statuses, *apps])
        click.echo(f"\nrelay:     {net.relay.address}  (OpenAPI: {net.relay.address}/docs)")
        if topics:
            click.echo(f"\n{'TOPIC':<26} {'PARTITIONS':>10}  {'CLEANUP':<8} RETENTION")
            for t in TOPICS:
                found = topics.get(t.name)
                parts = str(found.partitions) if found else "missing"
                if found and found.partitions != t.partitions:
                    parts += f" (catalog: {t.partitions})"
                retention = (
                    "forever"
                    if found and found.retention_ms == "-1"
                    else (f"{int(found.retention_ms) // 3_600_000}h" if found else "-")
                )
                click.echo(
                    f"{t.name:<26} {parts:>10}  {found.cleanup if found else '-':<8} {retention}"
                )
    if not all(s.health.ok for s in [*statuses, *apps]):
        raise SystemExit(1)


def _print_services(statuses) -> None:  # type: ignore[no-untyped-def]
    width = max(12, *(len(s.name) for s in statuses))
    click.echo(f"{'SERVICE':<{width}} {'STATE':<9} {'PID':>7}  {'ADDRESS':<32} DETAIL")
    for s in statuses:
        state = click.style("healthy", fg="green") if s.health.ok else click.style("DOWN", fg="red")
        pad = " " * (9 - len("healthy" if s.health.ok else "DOWN"))
        click.echo(
            f"{s.name:<{width}} {state}{pad} {s.pid or '-':>7}  {s.address:<32} {s.health.detail}"
        )


@devnet.command()
@dir_option
def down(root: Path) -> None:
    """Stop the processes this devnet started (by their recorded PIDs). Data is kept."""
    if not (root / "state.json").exists():
        click.echo(f"no devnet at {root.resolve()}")
        return
    stopped = Devnet.open(root).down(progress=click.echo)
    click.echo("nothing was running" if not stopped else f"stopped {len(stopped)} service(s)")


@devnet.command("stop")
@dir_option
@click.argument("service", type=click.Choice(SERVICE_NAMES), metavar="SERVICE")
def stop_service(root: Path, service: str) -> None:
    """Stop one service or app (SIGTERM to its recorded process group, SIGKILL after 15 s),
    leaving the others running. `start SERVICE` or `up` starts it again; data is kept.

    \b
    SERVICE: kafka, postgres, anvil, objectstore, relay, and with the network bridge-ingest,
    bridge-submit, events-project, streams-worker, inference.
    """
    net = _existing(root)
    try:
        stopped = net.stop_one(service)
    except DevnetError as exc:
        raise _fail(exc) from exc
    click.echo(f"stopped {service}" if stopped else f"{service} was not running")


@devnet.command("start")
@dir_option
@click.argument("service", type=click.Choice(SERVICE_NAMES), metavar="SERVICE")
def start_service(root: Path, service: str) -> None:
    """Start one service or app if it is not running, and wait until it is healthy.

    Nothing else is started (`up` starts everything that is not running): the services it
    needs must be up, and an app stopped on purpose beside it stays stopped.
    """
    net = _existing(root)
    started = time.monotonic()
    try:
        status = net.start_one(service)
    except DevnetError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"{status.name} healthy in {time.monotonic() - started:.1f}s "
        f"(pid {status.pid or '-'})  {status.health.detail}"
    )


def _existing(root: Path) -> Devnet:
    if not (root / "state.json").exists():
        raise click.ClickException(
            f"no devnet at {root.resolve()}; start one with `hydrogen devnet up`"
        )
    return Devnet.open(root)


@devnet.command()
@dir_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(root: Path, yes: bool) -> None:
    """Stop the devnet and delete its folder: chain, topics, database and blobs."""
    if not root.exists():
        click.echo(f"no devnet at {root.resolve()}")
        return
    if not yes:
        click.confirm(f"delete {root.resolve()} and everything in it?", abort=True)
    try:
        Devnet.open(root).reset()
    except DevnetError as exc:
        raise _fail(exc) from exc
    click.echo(f"deleted {root.resolve()}")


@devnet.command()
@dir_option
@click.argument(
    "service",
    required=False,
    type=click.Choice(LOG_NAMES),
)
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines of each log.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (one service).")
def logs(root: Path, service: str | None, lines: int, follow: bool) -> None:
    """Print the last lines of a service's log (or of all of them)."""
    logs_dir = root / "logs"
    names = [service] if service else sorted(p.stem for p in logs_dir.glob("*.log"))
    if follow:
        if len(names) != 1:
            raise click.UsageError("--follow needs one SERVICE")
        tail = shutil.which("tail") or "tail"
        argv = [tail, "-n", str(lines), "-F", str(logs_dir / f"{names[0]}.log")]
        os.execvp(tail, argv)  # noqa: S606  (hand the terminal over to tail)
    for name in names:
        path = logs_dir / f"{name}.log"
        if not path.exists():
            raise click.ClickException(f"no log for {name!r} at {path}")
        if len(names) > 1:
            click.echo(click.style(f"==> {name} <==", bold=True))
        out = subprocess.run(
            ["tail", "-n", str(lines), str(path)], capture_output=True, text=True, check=False
        )
        click.echo(out.stdout, nl=False)


@devnet.command()
@dir_option
def smoke(root: Path) -> None:
    """Check a running devnet end to end: produce and consume an event, send a transaction,
    write and read Postgres and the object store."""
    try:
        net = Devnet.open(root)
        unhealthy = [s.name for s in net.status() if not s.health.ok]
        if unhealthy:
            raise DevnetError(f"not healthy: {', '.join(unhealthy)}; run `hydrogen devnet up`")
        result = run_smoke(net, say=click.echo)
    except DevnetError as exc:
        raise _fail(exc) from exc
    click.echo(f"\nsmoke check passed (run {result.run_id})")
