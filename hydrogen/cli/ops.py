"""Operations commands that work against any deployment, not only the devnet."""

from __future__ import annotations

import json
from pathlib import Path

import click
from confluent_kafka.admin import AdminClient

from hydrogen import contracts
from hydrogen.db.migrate import MigrationError, migrate
from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.topics import TopicMismatchError, describe_topics, ensure_topics
from schemas.catalog import TOPICS

bootstrap_option = click.option(
    "--bootstrap",
    envvar="HYDROGEN_KAFKA_BOOTSTRAP",
    default="127.0.0.1:19092",
    show_default=True,
    show_envvar=True,
    help="Kafka bootstrap servers.",
)


@click.group("topics")
def topics_group() -> None:
    """The topic catalog on a Kafka cluster."""


@topics_group.command("list")
@bootstrap_option
def topics_list(bootstrap: str) -> None:
    """The catalog's topics and whether the cluster has them as the catalog says."""
    found = describe_topics(AdminClient({"bootstrap.servers": bootstrap}), [t.name for t in TOPICS])
    for t in TOPICS:
        f = found.get(t.name)
        state = (
            "missing"
            if f is None
            else ("ok" if f.partitions == t.partitions else f"{f.partitions} partitions")
        )
        click.echo(f"{t.name:<26} {t.partitions:>3}  {t.cleanup:<8} {state:<10} {t.description}")


@topics_group.command("create")
@bootstrap_option
@click.option(
    "--replication", default=1, show_default=True, help="Replication factor (3 in production)."
)
def topics_create(bootstrap: str, replication: int) -> None:
    """Create the catalog's missing topics; refuse if an existing one differs from the catalog."""
    try:
        created = ensure_topics(AdminClient({"bootstrap.servers": bootstrap}), TOPICS, replication)
    except TopicMismatchError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"created {len(created)} topic(s): {', '.join(created)}" if created else "all topics exist"
    )


@click.group("db")
def db_group() -> None:
    """The Postgres schema."""


@db_group.command("migrate")
@click.option(
    "--dsn",
    envvar="HYDROGEN_PG_DSN",
    required=True,
    show_envvar=True,
    help="PostgreSQL connection string.",
)
def db_migrate(dsn: str) -> None:
    """Apply the pending migrations, in order."""
    try:
        applied = migrate(dsn)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    for m in applied:
        click.echo(f"applied {m.version:04d}_{m.name}")
    click.echo(f"{len(applied)} migration(s) applied")


@click.group("contracts")
def contracts_group() -> None:
    """The Solidity contracts."""


@contracts_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when no source changed.")
def contracts_build(force: bool) -> None:
    """Compile contracts/src with solcjs into contracts/build/."""
    try:
        artifacts = contracts.build(force=force)
    except contracts.ContractBuildError as exc:
        raise click.ClickException(str(exc)) from exc
    for a in artifacts.values():
        click.echo(f"{a.name:<24} {len(a.bytecode) // 2 - 1:>6} bytes  ({a.compiler})")


@contracts_group.command("deploy")
@click.option(
    "--rpc-url",
    envvar="HYDROGEN_RPC_URL",
    default="http://127.0.0.1:18545",
    show_default=True,
    show_envvar=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default="deployment.json",
    show_default=True,
    help="Where to write addresses and ABIs.",
)
def contracts_deploy(rpc_url: str, out: Path) -> None:
    """Build and deploy the contracts to a development chain, signed by the first account of
    anvil's test mnemonic, unless OUT already records a deployment that is on that chain."""
    from web3 import HTTPProvider, Web3  # noqa: PLC0415  (slow import, only this command needs it)

    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    if out.exists() and contracts.is_deployed(w3, json.loads(out.read_text())):
        click.echo(f"{out}: already deployed on chain {w3.eth.chain_id}")
        return
    try:
        record = contracts.deployment_record(w3, devnet_account(Role.DEPLOYER), rpc_url)
    except (contracts.ContractBuildError, contracts.TransactionFailed) as exc:
        raise click.ClickException(str(exc)) from exc
    out.write_text(json.dumps(record, indent=1))
    for name, c in record["contracts"].items():
        click.echo(f"{name:<24} {c['address']}")
    click.echo(f"wrote {out}")


@contracts_group.command("gas-report")
@click.option(
    "--rpc-url",
    envvar="HYDROGEN_GAS_REPORT_RPC_URL",
    default=None,
    show_envvar=True,
    help="Measure on this running anvil (inside a snapshot that is reverted) instead of a "
    "throwaway anvil of our own.",
)
@click.option("--small", default=10, show_default=True, help="Nodes in the small network.")
@click.option("--large", default=1000, show_default=True, help="Nodes in the large network.")
def contracts_gas_report(rpc_url: str | None, small: int, large: int) -> None:
    """Gas of each contract call, of a whole task, and of createTask on a small and a large
    network (selection must not cost more as the network grows)."""
    from web3 import HTTPProvider, Web3  # noqa: PLC0415  (slow import, only this command needs it)

    from hydrogen import gas_report  # noqa: PLC0415
    from hydrogen.devnet.anvil import throwaway_anvil  # noqa: PLC0415

    try:
        if rpc_url:
            w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
            report = gas_report.run_report(w3, small, large)
        else:
            with throwaway_anvil() as anvil:
                report = gas_report.run_report(anvil.web3(), small, large)
    except (contracts.ContractBuildError, contracts.TransactionFailed) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.render())


@click.group("schemas")
def schemas_group() -> None:
    """The Avro schemas of events and commands (schemas/avro/), and task arguments."""


def _protocol_abis() -> dict:
    from chain_bridge.event_records import PROTOCOL_CONTRACTS  # noqa: PLC0415

    artifacts = contracts.build()
    return {name: artifacts[name].abi for name in PROTOCOL_CONTRACTS}


@schemas_group.command("check")
def schemas_check() -> None:
    """Exit 1 if a contract event's schema is missing or differs from the contract's ABI, or if
    an old version of any schema can no longer be read by the current one."""
    from hydrogen.schema_sync import stale_records  # noqa: PLC0415
    from schemas.registry import SchemaRegistry, unreadable_versions  # noqa: PLC0415

    problems = [
        f"{name}: the ABI changed; `hydrogen schemas sync` writes v{v}"
        for name, v in sorted(stale_records(_protocol_abis()).items())
    ]
    problems += unreadable_versions(SchemaRegistry())
    for p in problems:
        click.echo(p)
    if problems:
        raise SystemExit(1)
    click.echo("schemas match the contracts, and every old version is readable")


@schemas_group.command("task-args")
@click.option(
    "--kind",
    type=click.Choice(["sd", "llm"], case_sensitive=False),
    help="Only this kind of task. Without it: an object {SD: schema, LLM: schema}.",
)
def schemas_task_args(kind: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of task arguments, the Crynux SD and LLM formats
    that `PUT /v1/tasks/{id}/args` accepts. The relay and the nodes check arguments with the
    same parser, which also checks a few rules the schema leaves out (the arguments each
    scheduler takes, base64 that decodes)."""
    from schemas.task_args import TaskKind, task_args_json_schema  # noqa: PLC0415

    kinds = [TaskKind(kind)] if kind else list(TaskKind)
    schemas = {k.value: task_args_json_schema(k) for k in kinds}
    click.echo(json.dumps(schemas[kinds[0].value] if kind else schemas, indent=2))


@schemas_group.command("sync")
def schemas_sync() -> None:
    """Write a new schema version for each contract event whose ABI changed (old versions
    are kept: consumers must still read what was written with them)."""
    from hydrogen.schema_sync import sync  # noqa: PLC0415

    written = sync(_protocol_abis())
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written)} schema file(s) written")
