"""`hydrogen node …`: a node operator's commands, sent as the node through the submitter."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hydrogen.devnet.accounts import node_account
from hydrogen.devnet.network import MAX_NODES
from hydrogen.node_ops import inputs
from hydrogen.node_ops.endpoints import Endpoints, resolve
from hydrogen.node_ops.errors import NodeInputError, NodeOpsError
from hydrogen.node_ops.outcome import as_json, describe, exit_status, no_outcome_lines
from hydrogen.node_ops.request import (
    NodeAction,
    NodeCall,
    add_stake_call,
    join_call,
    new_request_id,
    plain_call,
    tx_request,
)
from schemas.catalog import CHAIN_TX_OUTCOMES, CHAIN_TX_REQUESTS

if TYPE_CHECKING:  # web3 is imported when a command runs, not when the CLI starts
    from hydrogen.node_ops.registry import RegistryReader

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 120.0


def _endpoint_options(with_kafka: bool, with_dsn: bool) -> Callable[[Any], Any]:
    def decorate(f: Any) -> Any:
        options = [
            click.option(
                "--dir",
                "root",
                type=click.Path(file_okay=False, path_type=Path),
                default=".devnet",
                envvar="HYDROGEN_DEVNET_DIR",
                show_default=True,
                show_envvar=True,
                help="Devnet whose Kafka, anvil, deployment and Postgres to use for what the "
                "options below leave open.",
            ),
            click.option(
                "--rpc-url",
                envvar="HYDROGEN_RPC_URL",
                show_envvar=True,
                help="Ethereum JSON-RPC URL (default: the devnet's anvil).",
            ),
            click.option(
                "--deployment",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Deployment record with the contracts' addresses and ABIs "
                "(default: DIR/deployment.json).",
            ),
        ]
        if with_kafka:
            options.append(
                click.option(
                    "--bootstrap",
                    envvar="HYDROGEN_KAFKA_BOOTSTRAP",
                    show_envvar=True,
                    help="Kafka bootstrap servers (default: the devnet's broker).",
                )
            )
        if with_dsn:
            options.append(
                click.option(
                    "--dsn",
                    envvar="HYDROGEN_PG_DSN",
                    show_envvar=True,
                    help="PostgreSQL holding the read model (default: the devnet's).",
                )
            )
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _node_options(f: Any) -> Any:
    f = click.option(
        "--devnet-node",
        type=click.IntRange(0, MAX_NODES - 1),
        help="Instead of --node: the devnet's node N (0-based; its key is the devnet "
        "mnemonic's, which `bridge submit --devnet-keys` holds).",
    )(f)
    return click.option(
        "--node", "node_text", metavar="ADDRESS", help="The node's address (EIP-55 checksummed)."
    )(f)


def _send_options(f: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--request-id",
                help="Repeat an earlier request (the id it printed) instead of making a new "
                "one: its answer is shown if it has one, and it is never sent twice.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=1),
                default=DEFAULT_TIMEOUT_S,
                show_default=True,
                help="Seconds the request may wait to be sent; it expires unsent after. The "
                "command listens a few seconds longer for the answer.",
            ),
            click.option("--json", "as_json_", is_flag=True, help="Print the result as JSON."),
            click.option(
                "--requests-topic",
                default=CHAIN_TX_REQUESTS.name,
                show_default=True,
                help="Where the submitter reads requests (a namespaced deployment's name).",
            ),
            click.option(
                "--outcomes-topic",
                default=CHAIN_TX_OUTCOMES.name,
                show_default=True,
                help="Where the submitter publishes outcomes.",
            ),
        ]
    ):
        f = option(f)
    return f


@click.group("node")
def node() -> None:
    """Operate a GPU node: join the registry with a stake, pause, resume, quit, top up the
    stake, and show what the chain and the read model know of a node.

    Each change is one request on chain.tx-requests, signed and sent as the node by
    `hydrogen bridge submit` (which must hold the node's key), so the node's own
    transactions never race the commits the streams worker sends for it. The command prints
    the request id, waits for the outcome on chain.tx-outcomes and prints the transaction,
    or the registry's error by name.

    \b
    Exit status: 0 done (MINED); 1 not done (REVERTED, REJECTED, EXPIRED, REPLACED), or
    no Kafka, chain or deployment to use; 2 a bad value (nothing published); 3 no answer
    within --timeout (the request may still be mined).

    \b
    On a devnet (`hydrogen devnet up` and `hydrogen bridge submit --devnet-keys`):
      hydrogen node join --devnet-node 5 --gpu-name "RTX 4090" --vram 24 --model base:tiny-sd15
      hydrogen node status --devnet-node 5
      hydrogen node pause --devnet-node 5
    """


@node.command("join")
@_node_options
@click.option(
    "--stake",
    metavar="AMOUNT",
    help="Stake to send: 400 or 400eth, 0.5ether, 10gwei, 5wei (a bare number is ETH). "
    "Default: the registry's minStake.",
)
@click.option("--gpu-name", required=True, help='The GPU, e.g. "NVIDIA H100".')
@click.option(
    "--vram",
    type=int,
    required=True,
    help="GPU memory in GB; at least the registry's lowest tier floor.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    required=True,
    help="A model the node holds, as KIND:NAME (base:…, lora:…, llm:…); repeat for each.",
)
@_send_options
@_endpoint_options(with_kafka=True, with_dsn=False)
def join(
    node_text: str | None,
    devnet_node: int | None,
    stake: str | None,
    gpu_name: str,
    vram: int,
    models: tuple[str, ...],
    **send: Any,
) -> None:
    """Join the registry: stake (default the registry's minStake), GPU, VRAM and models.

    The stake is checked against the registry's minStake, the VRAM against its lowest tier,
    and the node's balance against the stake and gas, before anything is published.

    \b
    Example:
      hydrogen node join --node 0x90F79bf6EB2c4f870365E785982E1f101E93b906 \\
        --stake 400eth --gpu-name "NVIDIA H100" --vram 80 \\
        --model base:runwayml/stable-diffusion-v1-5 --model llm:Qwen/Qwen2.5-7B
    """
    address = _address(node_text, devnet_node)
    checked_models = _checked(lambda: inputs.model_ids(models))
    name = _checked(lambda: inputs.gpu_name(gpu_name))
    if stake is not None:
        _checked(lambda: inputs.amount_wei(stake, "--stake"))  # its syntax, before the chain

    def build(reader: RegistryReader) -> NodeCall:
        wei = _checked(lambda: inputs.stake_wei(stake, reader.min_stake()))
        gb = _checked(lambda: inputs.vram_gb(vram, reader.tier_floors()))
        return join_call(address, name, gb, checked_models, wei)

    _send(NodeAction.JOIN, address, build, **send)


@node.command("add-stake")
@_node_options
@click.option(
    "--amount",
    required=True,
    metavar="AMOUNT",
    help="What to add: 100 or 100eth, 0.5ether, 10gwei, 5wei (a bare number is ETH).",
)
@_send_options
@_endpoint_options(with_kafka=True, with_dsn=False)
def add_stake(node_text: str | None, devnet_node: int | None, amount: str, **send: Any) -> None:
    """Add to a staked node's stake: after a fine took it under minStake, a Paused node
    cannot resume until it is topped up.

    \b
    Example:
      hydrogen node add-stake --node 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --amount 40
    """
    address = _address(node_text, devnet_node)
    wei = _checked(lambda: inputs.top_up_wei(amount))
    _send(NodeAction.ADD_STAKE, address, lambda _: add_stake_call(address, wei), **send)


def _plain_command(action: NodeAction, summary: str) -> None:
    @node.command(str(action), help=summary)
    @_node_options
    @_send_options
    @_endpoint_options(with_kafka=True, with_dsn=False)
    def command(node_text: str | None, devnet_node: int | None, **send: Any) -> None:
        address = _address(node_text, devnet_node)
        _send(action, address, lambda _: plain_call(action, address), **send)


_plain_command(
    NodeAction.PAUSE,
    """Stop receiving tasks. An Available node is Paused at once; a Busy node finishes its
    task first (PendingPause). Any other status reverts with InvalidNodeStatus.

    \b
    Example:
      hydrogen node pause --node 0x90F79bf6EB2c4f870365E785982E1f101E93b906
    """,
)
_plain_command(
    NodeAction.RESUME,
    """Take tasks again: a Paused node becomes Available (its stake must be at least
    minStake, or it reverts with StakeTooLow; see add-stake); a PendingPause one stays Busy.

    \b
    Example:
      hydrogen node resume --devnet-node 5
    """,
)
_plain_command(
    NodeAction.QUIT,
    """Leave the network. An Available or Paused node quits at once and its stake is credited
    to it (withdraw it from the registry); a node in a task quits when the task lets it go.

    \b
    Example:
      hydrogen node quit --node 0x90F79bf6EB2c4f870365E785982E1f101E93b906
    """,
)


@node.command("status")
@_node_options
@click.option("--json", "as_json_", is_flag=True, help="Print the two views as JSON.")
@_endpoint_options(with_kafka=False, with_dsn=True)
def status(
    node_text: str | None,
    devnet_node: int | None,
    as_json_: bool,
    root: Path,
    rpc_url: str | None,
    deployment: Path | None,
    dsn: str | None,
) -> None:
    """What the registry holds for a node (status, stake, GPU, VRAM, models, current task),
    read from the chain, and beside it the read model's row (task counts, earnings, when it
    joined) if Postgres answers. Every field says which of the two it comes from; the chain
    is the truth, the read model may lag it.

    \b
    Examples:
      hydrogen node status --node 0x90F79bf6EB2c4f870365E785982E1f101E93b906
      hydrogen node status --devnet-node 0 --json
    """
    from hydrogen.node_ops.node_view import Projection, status_document, status_lines  # noqa: PLC0415
    from hydrogen.node_ops.projection import projected_node  # noqa: PLC0415

    address = _address(node_text, devnet_node)
    try:
        endpoints = resolve(root, rpc_url=rpc_url, deployment=deployment, dsn=dsn)
        reader = _reader(endpoints)
        registry_node = reader.node(address)
    except NodeOpsError as exc:
        raise click.ClickException(str(exc)) from exc
    projection = (
        projected_node(endpoints.pg_dsn, reader.chain_id, address)
        if endpoints.pg_dsn
        else Projection(error="no Postgres named: pass --dsn, or --dir of a devnet")
    )
    if as_json_:
        document = status_document(reader.chain_id, reader.address, registry_node, projection)
        click.echo(json.dumps(document, indent=1))
    else:
        click.echo("\n".join(status_lines(reader.chain_id, registry_node, projection)))


# ---- shared steps ----


def _address(node_text: str | None, devnet_node: int | None) -> str:
    if (node_text is None) == (devnet_node is None):
        raise click.UsageError("name the node with one of --node ADDRESS or --devnet-node N")
    if devnet_node is not None:
        return str(node_account(devnet_node).address)
    assert node_text is not None
    return _checked(lambda: inputs.node_address(node_text))


def _checked(check: Callable[[], T]) -> T:
    """Run a check of inputs; its refusal becomes click's, pointing at the option."""
    try:
        return check()
    except NodeInputError as exc:
        raise click.BadParameter(
            f"{exc.value!r}: {exc.reason}", param_hint=f"'{exc.param}'"
        ) from exc


def _reader(endpoints: Endpoints) -> RegistryReader:
    from hydrogen.node_ops.registry import RegistryReader  # noqa: PLC0415 (web3 is slow to import)

    record = endpoints.deployment()
    return RegistryReader(endpoints.rpc(record), record)


def _send(
    action: NodeAction,
    address: str,
    build: Callable[[RegistryReader], NodeCall],
    *,
    request_id: str | None,
    timeout: float,
    as_json_: bool,
    requests_topic: str,
    outcomes_topic: str,
    root: Path,
    rpc_url: str | None,
    deployment: Path | None,
    bootstrap: str | None,
) -> None:
    """Check, publish, wait, print; exits with the outcome's status (see `hydrogen node`)."""
    from hydrogen.node_ops.send import send_and_wait  # noqa: PLC0415
    from hydrogen.node_ops.tx_channel import TxChannel  # noqa: PLC0415

    if request_id is not None:
        _checked(lambda: inputs.request_id(request_id))
    say = _stderr
    rid = ""  # set once the request is made; until then an interrupt has nothing to tell
    try:
        endpoints = resolve(root, bootstrap=bootstrap, rpc_url=rpc_url, deployment=deployment)
        kafka = endpoints.kafka()  # asked first: without Kafka, the chain reads are wasted
        reader = _reader(endpoints)
        call = build(reader)
        balance, gas = reader.balance(address), reader.gas_allowance()
        _checked(lambda: inputs.funds_cover(balance, call.value_wei, gas, address))
        rid = request_id or new_request_id(reader.chain_id, call, uuid.uuid4().hex[:16])
        now_ms = int(time.time() * 1000)
        record = tx_request(call, rid, now_ms, now_ms + int(timeout * 1000))
        say(f"{action} {address}: request id {rid}")
        with TxChannel(kafka, requests_topic, outcomes_topic) as channel:
            sent = send_and_wait(
                channel, record, repeat=request_id is not None, timeout_s=timeout, say=say
            )
    except NodeOpsError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        if not rid:
            raise click.Abort() from None
        # Published or not, the id is what lets the operator find out without a second try.
        say(f"interrupted; see whether it was sent, without sending it twice: --request-id {rid}")
        raise SystemExit(130) from None
    if as_json_:
        click.echo(json.dumps(as_json(str(action), address, sent.outcome, rid), indent=1))
    if sent.outcome is None:
        for line in no_outcome_lines(rid, sent.waited_s):
            say(line)
    elif not as_json_:
        click.echo("\n".join(describe(str(action), address, sent.outcome)))
        click.echo(f"request {rid}")
    raise SystemExit(exit_status(sent.outcome))


def _stderr(line: str) -> None:
    click.echo(line, err=True)
