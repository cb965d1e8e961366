"""`hydrogen task …`: an application's commands: run a task, follow it, fetch its results,
cancel it.

Progress and notes go to stderr; stdout carries what a script reads (the receipt with
--json, an LLM task's answer, the files written).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from eth_account.signers.local import LocalAccount
from web3.exceptions import Web3Exception

from hydrogen.app.args import (
    LLMOptions,
    SDOptions,
    TaskRequest,
    flag,
    llm_request,
    parse_size,
    read_args_file,
    sd_request,
)
from hydrogen.app.chain import AppChain
from hydrogen.app.endpoints import Endpoints, resolve_endpoints
from hydrogen.app.errors import AppError, ArgsRefused
from hydrogen.app.fee import format_wei, parse_fee
from hydrogen.app.progress import Observation, Progress, describe, entered_since, summary
from hydrogen.app.signer import PASSWORD_ENV, app_signer
from hydrogen.app.status_report import status_document, status_lines
from hydrogen.app.task_view import TaskView, progress_from_events
from hydrogen.app.watcher import watch
from relay_api.client import RelayClient, RelayClientError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_FEE = "0.01eth"
DEFAULT_TIMEOUT_S = 600.0


def _network_options(func: F) -> F:
    """Where the chain, contracts and relay are: a devnet folder, or each given."""
    for option in reversed(
        [
            click.option(
                "--dir",
                "root",
                type=click.Path(file_okay=False, path_type=Path),
                default=".devnet",
                envvar="HYDROGEN_DEVNET_DIR",
                show_default=True,
                help="The devnet whose deployment, RPC and relay to use.",
            ),
            click.option("--rpc-url", help="The chain's JSON-RPC URL (default: the deployment's)."),
            click.option("--relay-url", help="The relay (default: the devnet's)."),
            click.option(
                "--deployment",
                "deployment_file",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="A deployment record (contract addresses and ABIs) instead of the devnet's.",
            ),
        ]
    ):
        func = option(func)
    return func


def _keystore_option(func: F) -> F:
    return click.option(
        "--keystore",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help=f"The app's encrypted keystore (password from {PASSWORD_ENV} or asked for). "
        "Default on a devnet chain: the devnet app account.",
    )(func)


@contextmanager
def _reported() -> Iterator[None]:
    """Errors of the network as one line each, not a traceback."""
    try:
        yield
    except ArgsRefused as exc:
        raise click.UsageError(str(exc)) from exc
    except AppError as exc:
        raise click.ClickException(str(exc)) from exc
    except RelayClientError as exc:
        raise click.ClickException(f"relay: {exc}") from exc
    except (Web3Exception, OSError) as exc:
        raise click.ClickException(f"chain: {exc}") from exc


def _say(message: str) -> None:
    click.echo(message, err=True)


class _App:
    """The endpoints and clients one command uses."""

    def __init__(self, endpoints: Endpoints, chain: AppChain) -> None:
        self.endpoints = endpoints
        self.chain = chain

    @classmethod
    def open(
        cls,
        root: Path,
        rpc_url: str | None,
        relay_url: str | None,
        deployment_file: Path | None,
        keystore: Path | None = None,
        signing: bool = False,
    ) -> _App:
        endpoints = resolve_endpoints(
            root, rpc_url=rpc_url, relay_url=relay_url, deployment_file=deployment_file
        )
        chain = AppChain.connect(endpoints.rpc_url, endpoints.deployment)
        if signing:
            chain.signer = app_signer(chain.chain_id(), keystore, _password)
        return cls(endpoints, chain)

    @property
    def signer(self) -> LocalAccount:
        assert self.chain.signer is not None
        return self.chain.signer

    def relay(self, signed: bool = True) -> RelayClient:
        key = self.signer.key if signed else None
        return RelayClient(self.endpoints.relay_url, private_key=key)


def _password() -> str:
    return os.environ.get(PASSWORD_ENV) or str(
        click.prompt("keystore password", hide_input=True, err=True)
    )


def _print_phases(before: Progress, after: Progress) -> None:
    """One line on stderr for each phase entered, with how long the one before took."""
    for span in entered_since(before, after):
        at = after.spans.index(span)
        previous = after.spans[at - 1] if at else None
        _say(f"[{span.start_s:7.1f}s] {describe(span, previous, after.reason)}")


@click.group("task")
def task() -> None:
    """Run Stable Diffusion and LLM tasks on the network, as an application.

    \b
    A task is created on chain (its arguments' hash and a fee), its arguments go to the
    relay, three nodes run it and commit-reveal their results, and the app downloads what the
    chain validated:
      hydrogen task run --prompt "a red fox in the snow" --size 64x64 --steps 2 --out out/
      hydrogen task run --llm --message "Why is the sky blue?" --max-tokens 16
      hydrogen task status 3
    """


def _size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _fee(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    try:
        return parse_fee(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


SD_ONLY = ("prompt", "negative", "lora", "lora_weight", "steps", "size", "num_images", "cfg")
LLM_ONLY = ("messages", "system", "max_tokens")


@task.command("run")
@click.option("--llm", is_flag=True, help="An LLM task (default: Stable Diffusion).")
@click.option("--prompt", help="SD: what to draw.")
@click.option("--negative", help="SD: what not to draw (negative prompt).")
@click.option("--model", help="Base model (SD, default tiny-sd15) or LLM (default tiny-gpt2).")
@click.option("--lora", help="SD: a LoRA to apply, by name or id (an HF id, a URL, a folder).")
@click.option("--lora-weight", type=int, help="SD: the LoRA's weight in percent (1-100).")
@click.option("--steps", type=int, help="SD: denoising steps.")
@click.option("--seed", type=int, help="The seed (SD images, LLM sampling).")
@click.option("--size", callback=_size, metavar="WxH", help="SD: image size, e.g. 512x512.")
@click.option("--num-images", type=int, help="SD: how many images.")
@click.option("--cfg", type=float, help="SD: guidance scale.")
@click.option("--message", "messages", multiple=True, help="LLM: a user message (repeatable).")
@click.option("--system", help="LLM: a system message before the user's.")
@click.option("--max-tokens", type=int, help="LLM: most new tokens to generate.")
@click.option(
    "--args",
    "args_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A whole task-arguments JSON file (schemas/task_args); options given override its "
    "fields, and with none given its bytes are sent unchanged.",
)
@click.option(
    "--fee",
    callback=_fee,
    default=DEFAULT_FEE,
    show_default=True,
    metavar="WEI_OR_ETH",
    help="The fee: wei (10000000000000000), or with a unit (0.01eth, 5gwei).",
)
@click.option("--min-vram", type=int, default=0, show_default=True, help="GB of VRAM a node needs.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the results and the receipt (needed for SD).",
)
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds to wait for the task to end.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the receipt as JSON on stdout.")
@click.option(
    "--detach",
    is_flag=True,
    help="Create the task and put its arguments, print its id and exit without waiting.",
)
@_keystore_option
@_network_options
def run_command(
    llm: bool,
    args_path: Path | None,
    fee: int,
    min_vram: int,
    out: Path | None,
    timeout: float,
    as_json: bool,
    detach: bool,
    keystore: Path | None,
    root: Path,
    rpc_url: str | None,
    relay_url: str | None,
    deployment_file: Path | None,
    **options: Any,
) -> None:
    """Create a task, put its arguments on the relay, follow it until it ends, download its
    results and check them against the result the chain validated.

    \b
    Phases are shown as they come, each with how long the one before took:
      queued -> running -> commit -> reveal -> validated -> delivered
    Images are saved as OUT/task-<id>-<i>.png, an LLM answer is printed (and saved as
    OUT/task-<id>-0.json with --out), and OUT/task-<id>.receipt.json records the nodes, the
    p-hashes, the transactions and the timings. Exits 1 if the task is aborted or cancelled,
    or if a result does not match the chain.

    \b
    Examples:
      hydrogen task run --prompt "a red fox" --lora tiny-lora-sd15 --size 64x64 \\
          --steps 2 --num-images 2 --seed 7 --out results/
      hydrogen task run --args task.json --seed 3 --fee 0.02eth --out results/
      hydrogen task run --llm --message "Hello" --max-tokens 8 --json
    """
    with _reported():
        request = _request(llm, args_path, options)
        if request.kind == "SD" and out is None and not detach:
            raise click.UsageError("--out DIR is needed for an SD task: the images go there")
        app = _App.open(root, rpc_url, relay_url, deployment_file, keystore, signing=True)
        created = app.chain.create_task(
            request.kind, request.args_hash, request.model_ids, min_vram, fee
        )
        origin = time.monotonic()
        _say(
            f"task {created.task_id} created: {request.kind}, fee {format_wei(fee)}, "
            f"tx {created.tx_hash} (block {created.block_number}), {created.status}"
        )
        with app.relay() as relay:
            try:
                relay.put_args(created.task_id, request.raw)
            except RelayClientError as exc:
                raise click.ClickException(
                    f"task {created.task_id} is on chain but its arguments did not reach the "
                    f"relay: {exc}; cancel it while it is queued: hydrogen task cancel "
                    f"{created.task_id}"
                ) from exc
            _say(f"arguments on the relay ({len(request.raw)} bytes)")
            if detach:
                detached = {
                    "task_id": created.task_id,
                    "tx": created.tx_hash,
                    "status": created.status,
                }
                click.echo(json.dumps(detached) if as_json else str(created.task_id))
                return
            progress, view = watch(
                app.chain,
                created.task_id,
                timeout_s=timeout,
                on_change=_print_phases,
                origin=origin,
                first=Observation(created.status),
            )
            _say(summary(progress))
            _finish(app, relay, view, progress, "observed", request.model_ids, out, as_json)


def _request(llm: bool, args_path: Path | None, options: dict[str, Any]) -> TaskRequest:
    wrong = LLM_ONLY if not llm else SD_ONLY
    given = [n for n in wrong if options.get(n) not in (None, ())]
    if given:
        names = ", ".join(flag(n) for n in given)
        kind = "an SD task (add --llm for an LLM task)" if not llm else "an LLM task"
        raise click.UsageError(f"{names} do(es) not apply to {kind}")
    args_file = read_args_file(str(args_path), args_path.read_bytes()) if args_path else None
    if llm:
        llm_options = LLMOptions(**{k: options[k] for k in ("model", "seed", *LLM_ONLY)})
        return llm_request(llm_options, args_file)
    return sd_request(SDOptions(**{k: options[k] for k in ("model", "seed", *SD_ONLY)}), args_file)


def _finish(
    app: _App,
    relay: RelayClient,
    view: TaskView,
    progress: Progress,
    timings_source: str,
    model_ids: list[str],
    out: Path | None,
    as_json: bool,
) -> None:
    """Fetch, check and record the results of an ended task, and say what came."""
    # Checking images loads imagehash, PIL and numpy: only the commands that check pay for it.
    from hydrogen.app.delivery import conclude  # noqa: PLC0415

    outcome = conclude(
        app.chain, relay, app.endpoints.relay_url, view, timings_s=progress.timings(),
        timings_source=timings_source, model_ids=model_ids, out_dir=out,
    )  # fmt: skip
    if outcome.receipt_path is not None:
        _say(f"receipt: {outcome.receipt_path}")
    if as_json:
        click.echo(json.dumps(outcome.receipt, indent=1))
    delivered = outcome.delivered
    if delivered is None:
        reason = f" ({view.abort_reason})" if view.abort_reason else ""
        raise click.ClickException(f"task {view.task_id} ended {view.status}{reason}: no result")
    if delivered.problems:
        problems = "; ".join(delivered.problems)
        raise click.ClickException(
            f"task {view.task_id}: results do not match the chain: {problems}"
        )
    if not as_json:
        if delivered.answer is not None:
            click.echo(delivered.answer)
        else:
            for check in delivered.checks:
                click.echo(check.file)
    _say(f"verified {len(delivered.checks)} result(s) against the chain")


@task.command("status")
@click.argument("task_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_network_options
def status_command(
    task_id: int,
    as_json: bool,
    root: Path,
    rpc_url: str | None,
    relay_url: str | None,
    deployment_file: Path | None,
) -> None:
    """Show a task once: its status on chain, its nodes and result, the phases it went through
    (timed by block), its transactions, and what the relay reports.

    \b
    Example:
      hydrogen task status 3 --json
    """
    with _reported():
        app = _App.open(root, rpc_url, relay_url, deployment_file)
        view = app.chain.task(task_id)
        events = app.chain.events(task_id)
        relay_info: dict[str, Any] | None = None
        relay_error = None
        with app.relay(signed=False) as relay:
            try:
                relay_info = relay.task(task_id).raw
            except RelayClientError as exc:
                relay_error = str(exc)
    if as_json:
        click.echo(json.dumps(status_document(view, events, relay_info, relay_error), indent=1))
    else:
        click.echo("\n".join(status_lines(view, events, relay_info, relay_error)))


@task.command("watch")
@click.argument("task_id", type=click.IntRange(min=1))
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds to watch before giving up.",
)
@_network_options
def watch_command(
    task_id: int,
    timeout: float,
    root: Path,
    rpc_url: str | None,
    relay_url: str | None,
    deployment_file: Path | None,
) -> None:
    """Follow a task's phases live until it ends, each with how long the one before took
    (times count from when watching began). Exits 1 if the task is aborted or cancelled.

    \b
    Example:
      hydrogen task watch 3
    """
    with _reported():
        app = _App.open(root, rpc_url, relay_url, deployment_file)
        progress, view = watch(app.chain, task_id, timeout_s=timeout, on_change=_print_phases)
    _say(summary(progress))
    click.echo(view.status)
    if progress.failed:
        reason = f" ({view.abort_reason})" if view.abort_reason else ""
        raise click.ClickException(f"task {task_id} ended {view.status}{reason}")


@task.command("download")
@click.argument("task_id", type=click.IntRange(min=1))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the results and the receipt.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the receipt as JSON on stdout.")
@_keystore_option
@_network_options
def download_command(
    task_id: int,
    out: Path,
    as_json: bool,
    keystore: Path | None,
    root: Path,
    rpc_url: str | None,
    relay_url: str | None,
    deployment_file: Path | None,
) -> None:
    """Download a finished task's results (as its creator), check each against the result the
    chain validated, and write OUT/task-<id>.receipt.json (timings from block times).

    \b
    Example:
      hydrogen task download 3 --out results/
    """
    with _reported():
        app = _App.open(root, rpc_url, relay_url, deployment_file, keystore, signing=True)
        view = app.chain.task(task_id)
        if not view.ended and view.status != "Validated":
            raise click.ClickException(
                f"task {task_id} is {view.status}: no result yet; follow it with "
                f"`hydrogen task watch {task_id}`"
            )
        progress = progress_from_events(app.chain.events(task_id))
        with app.relay() as relay:
            _finish(app, relay, view, progress, "block-times", [], out, as_json)


@task.command("cancel")
@click.argument("task_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_keystore_option
@_network_options
def cancel_command(
    task_id: int,
    as_json: bool,
    keystore: Path | None,
    root: Path,
    rpc_url: str | None,
    relay_url: str | None,
    deployment_file: Path | None,
) -> None:
    """Cancel a task that no node has started yet (it is Queued), as its creator; the whole
    fee comes back (withdraw it from TaskManager). A task past the queue cannot be cancelled:
    the contract's error is reported by name, e.g. WrongTaskStatus.

    \b
    Example:
      hydrogen task cancel 3
    """
    with _reported():
        app = _App.open(root, rpc_url, relay_url, deployment_file, keystore, signing=True)
        cancelled = app.chain.cancel_task(task_id)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "task_id": task_id,
                    "tx": cancelled.tx_hash,
                    "refund_wei": str(cancelled.refund_wei),
                }
            )
        )
    else:
        click.echo(
            f"cancelled task {task_id}: {format_wei(cancelled.refund_wei)} refunded "
            f"(tx {cancelled.tx_hash})"
        )
