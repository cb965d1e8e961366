"""`hydrogen demo`: one text-to-image task through a whole local network, and where to look
at what it left behind.

The demo runs the commands a newcomer would type (`hydrogen devnet up --network`, `hydrogen
node quit|join` when a real model is added, `hydrogen task run`), each shown before it runs
with its output indented below, so that it can be replayed by hand.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from hydrogen.app.args import SDOptions, parse_size, sd_request
from hydrogen.app.errors import ArgsRefused
from hydrogen.app.receipt import receipt_name
from hydrogen.demo import (
    ENDED,
    REAL_TASK,
    TINY_TASK,
    DemoError,
    LocalModel,
    TaskShape,
    declared_with,
    find_model,
    link_model,
    message_lines,
    psql_command,
    read_task_messages,
    task_topics,
)
from hydrogen.devnet.accounts import node_account
from hydrogen.devnet.layout import Layout
from hydrogen.devnet.network import NODES_PER_TASK
from hydrogen.devnet.supervisor import Devnet

DEFAULT_PROMPT = "a lighthouse on a cliff at dawn, oil painting"
DEFAULT_TIMEOUT_S = 900.0
PROJECTION_WAIT_S = 60.0
TINY_MODEL = "tiny-sd15"

dir_option = click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".devnet",
    envvar="HYDROGEN_DEVNET_DIR",
    show_default=True,
    show_envvar=True,
    help="The devnet folder: started if it is not running, reused if it is.",
)


class Step:
    """Numbered progress lines, each with the time since the demo began."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()

    def __call__(self, title: str) -> None:
        self.done += 1
        click.echo(f"\n[{self.done}/{self.total}] {title}  ({self.elapsed()})")

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.0f}s"


def _size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group("demo", invoke_without_command=True)
@dir_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the images and the receipt.  [default: DIR/demo]",
)
@click.option(
    "--model",
    "model_spec",
    metavar="PATH_OR_HF_ID",
    help="A real Stable Diffusion 1.5 pipeline of this machine: a diffusers folder, or a "
    "Hugging Face id in the local cache (nothing is downloaded). Default: the devnet's tiny "
    "random model, which draws noise.",
)
@click.option("--prompt", default=DEFAULT_PROMPT, show_default=True, help="What to draw.")
@click.option(
    "--seed", type=click.IntRange(0, 2**31 - 1), help="The task's seed.  [default: random]"
)
@click.option(
    "--size",
    callback=_size,
    metavar="WxH",
    help=f"Image size.  [default: {TINY_TASK.size}, {REAL_TASK.size} with --model]",
)
@click.option(
    "--steps",
    type=click.IntRange(1, 100),
    help=f"Denoising steps.  [default: {TINY_TASK.steps}, {REAL_TASK.steps} with --model]",
)
@click.option(
    "--num-images",
    type=click.IntRange(1, 10),
    help=f"Images.  [default: {TINY_TASK.num_images}, {REAL_TASK.num_images} with --model]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds the task may take once created.",
)
@click.pass_context
def demo(
    ctx: click.Context,
    root: Path,
    out: Path | None,
    model_spec: str | None,
    prompt: str,
    seed: int | None,
    size: tuple[int, int] | None,
    steps: int | None,
    num_images: int | None,
    timeout: float,
) -> None:
    """Run one text-to-image task through a whole local network, end to end, and show where
    its images, its receipt and its history are.

    \b
    1. starts the devnet with the network (`hydrogen devnet up --network`): Kafka,
       PostgreSQL, anvil with the contracts, the object store, the relay, the chain
       bridge, the streams worker, the events projector and a GPU consumer running three
       staked nodes; a devnet already running is reused;
    2. picks the model: the tiny random SD 1.5 the devnet made, or with --model a real one,
       linked into the devnet's model folder and declared by the nodes (each quits and
       joins again through `hydrogen node`);
    3. runs the task as an app does (`hydrogen task run`): created on chain with a fee,
       its arguments on the relay, run by three nodes that commit and reveal p-hashes,
       validated, delivered, its images downloaded and checked against the chain;
    4. prints where the images and the receipt are, and commands that show the task's
       history in Postgres (psql), in Kafka (`hydrogen demo kafka`) and as the relay
       streams it (`hydrogen relay events`).

    Run it again at any time: it reuses the devnet and runs another task. A real model
    runs at 512x512 with 25 steps: use a GPU, or lower --size and --steps on a CPU.

    \b
    Examples:
      hydrogen demo
      hydrogen demo --model ~/models/stable-diffusion-v1-5 --prompt "a red fox in the snow"
      hydrogen demo --model stable-diffusion-v1-5/stable-diffusion-v1-5 --seed 7
    """
    if ctx.invoked_subcommand is not None:
        return
    out = out if out is not None else root / "demo"
    shape = _shape(REAL_TASK if model_spec else TINY_TASK, size, steps, num_images)
    seed = seed if seed is not None else random.randrange(2**31)  # noqa: S311 (not a secret)
    # Checked before anything starts: a bad value should not cost a devnet start.
    local_model = _find(model_spec) if model_spec else None
    model = local_model.name if local_model else TINY_MODEL
    _check_args(prompt, model, seed, shape)
    step = Step(total=4)

    step("Start the devnet with the whole network (the first time takes a few minutes)")
    nodes = _nodes(root)
    _hydrogen("devnet", "up", "--network", "--nodes", str(nodes), "--dir", str(root))

    net = Devnet.open(root)
    if local_model is None:
        step(f"Model: the devnet's tiny random SD 1.5 ({TINY_MODEL}): it draws noise, fast")
    else:
        step(f"Model: {model_spec}")
        try:
            link = link_model(local_model, net.layout.models_dir)
        except DemoError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"  linked {link} -> {local_model.source}")
        click.echo(f"  the task names it base_model {model!r} (model id {local_model.model_id})")
        _declare(root, nodes, local_model)

    step(
        f"Run a text-to-image task: {shape.num_images} image(s) of {shape.size}, {shape.steps} steps"
    )
    receipt = _run_task(root, out, model, prompt, seed, shape, timeout)
    task_id = int(receipt["task_id"])

    step(f"Task {task_id}'s history in Postgres and Kafka")
    status = _wait_for_projection(net.postgres.dsn, task_id)
    click.echo(f"  the projector has task {task_id} as {status}")
    _summary(root, out, net, receipt, step)


@demo.command("kafka")
@click.argument("task_id", type=click.IntRange(min=1))
@dir_option
@click.option("--bootstrap", help="Kafka bootstrap servers (default: the devnet's broker at DIR).")
def kafka_command(task_id: int, root: Path, bootstrap: str | None) -> None:
    """Print a task's messages on the Kafka topics keyed by task id, decoded, as one
    timeline: its chain events (chain.task-events), the jobs the nodes got
    (inference.jobs), their GPU results (inference.results), the outcomes of the nodes'
    transactions (streams.tx-outcomes-by-task) and its status changes (tasks.history).

    \b
    Example:
      hydrogen demo kafka 1
    """
    if bootstrap is None:
        if Layout(root).read_state() is None:
            raise click.ClickException(
                f"no devnet at {root.resolve()}: give --bootstrap, or --dir of a devnet"
            )
        bootstrap = Devnet.open(root).kafka.address
    topics = task_topics()
    try:
        messages = read_task_messages(bootstrap, task_id, topics)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    if not messages:
        raise click.ClickException(
            f"no message keyed by task {task_id} on {', '.join(t.name for t in topics)}"
        )
    click.echo("\n".join(message_lines(messages, topics)))


# ---- the steps ----


def _shape(
    default: TaskShape, size: tuple[int, int] | None, steps: int | None, num_images: int | None
) -> TaskShape:
    width, height = size or (default.width, default.height)
    return TaskShape(width, height, steps or default.steps, num_images or default.num_images)


def _nodes(root: Path) -> int:
    """The devnet's node count: what an earlier `up --network` chose, else the minimum
    (`up` refuses to change it under a running network)."""
    state = Layout(root).read_state()
    return state.nodes if state is not None and state.nodes >= NODES_PER_TASK else NODES_PER_TASK


def _find(spec: str) -> LocalModel:
    try:
        return find_model(spec)
    except DemoError as exc:
        raise click.BadParameter(str(exc), param_hint="'--model'") from exc


def _check_args(prompt: str, model: str, seed: int, shape: TaskShape) -> None:
    """The task's arguments through the parser the relay and the nodes use."""
    options = SDOptions(
        prompt=prompt, model=model, seed=seed, steps=shape.steps,
        size=(shape.width, shape.height), num_images=shape.num_images,
    )  # fmt: skip
    try:
        sd_request(options)
    except ArgsRefused as exc:
        raise click.UsageError(str(exc)) from exc


def _declare(root: Path, nodes: int, model: LocalModel) -> None:
    """Have each devnet node declare the model in the registry: a node's models are fixed
    when it joins, so one that lacks it quits and joins again with it (an Available node
    only: a busy one would quit only after its task)."""
    from hydrogen.node_ops.registry import RegistryReader  # noqa: PLC0415 (web3: slow import)

    deployment = json.loads(Layout(root).deployment_file.read_text())
    reader = RegistryReader(deployment["rpcUrl"], deployment)
    for index in range(nodes):
        node = reader.node(node_account(index).address)
        wanted = declared_with(node.model_ids, model.model_id)
        if wanted is None:
            click.echo(f"  node {index} ({node.address}) declares {model.model_id} already")
            continue
        if node.status != "Available":
            click.echo(
                f"  node {index} is {node.status}: it keeps its models; selection does not "
                "look at them (the contract picks by VRAM), so it runs the task anyway"
            )
            continue
        where = ("--devnet-node", str(index), "--dir", str(root))
        _hydrogen("node", "quit", *where)
        models = [part for m in wanted for part in ("--model", m)]
        _hydrogen(
            "node", "join", *where, "--gpu-name", node.gpu_name, "--vram", str(node.vram), *models
        )


def _run_task(
    root: Path, out: Path, model: str, prompt: str, seed: int, shape: TaskShape, timeout: float
) -> dict[str, Any]:
    args = [
        "task", "run", "--model", model, "--prompt", prompt, "--size", shape.size,
        "--steps", str(shape.steps), "--num-images", str(shape.num_images), "--seed", str(seed),
        "--out", str(out), "--timeout", f"{timeout:g}", "--dir", str(root), "--json",
    ]  # fmt: skip
    logs = shlex.join(["devnet", "logs", "--dir", str(root)])
    stdout = _hydrogen(
        *args, capture_stdout=True, hint=f"what the network did: `{_hydrogen_shown()} {logs}`"
    )
    try:
        receipt: dict[str, Any] = json.loads(stdout)
    except ValueError as exc:
        raise click.ClickException(
            f"`hydrogen task run` printed no receipt: {stdout[:200]!r}"
        ) from exc
    return receipt


def _wait_for_projection(dsn: str, task_id: int) -> str:
    """The task's status in the Postgres projection, once it has ended there: the projector
    follows Kafka a moment behind the chain."""
    import psycopg  # noqa: PLC0415

    deadline = time.monotonic() + PROJECTION_WAIT_S
    status = "not projected yet"
    while time.monotonic() < deadline:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT status FROM tasks WHERE task_id = %s ORDER BY chain_id", (str(task_id),)
            ).fetchone()
        if row is not None:
            status = str(row[0])
            if status in ENDED:
                return status
        time.sleep(0.5)
    raise click.ClickException(
        f"task {task_id} ended on chain, but the Postgres projection still has it as {status} "
        f"after {PROJECTION_WAIT_S:.0f}s; see `hydrogen devnet logs events-project`"
    )


def _summary(root: Path, out: Path, net: Devnet, receipt: dict[str, Any], step: Step) -> None:
    task_id = int(receipt["task_id"])
    files = [Path(f["file"]).resolve() for f in receipt["files"] if f.get("file")]
    hydrogen = _hydrogen_shown()
    dir_args = shlex.join(["--dir", str(root)])
    timings = " · ".join(f"{k} {v:.1f}s" for k, v in receipt["timings_s"].items())
    checked = "match" if receipt["verified"] else "DO NOT match"
    click.echo(
        f"\nTask {task_id} {receipt['status']}: run by {len(receipt['nodes'])} nodes, "
        f"{len(files)} image(s) whose p-hashes {checked} the chain's (demo: {step.elapsed()})."
    )
    click.echo(f"  phases:   {timings}")
    for i, path in enumerate(files):
        click.echo(f"  {'images:' if i == 0 else '':<9} {path}")
    receipt_path = (out / receipt_name(task_id)).resolve()
    click.echo(f"  receipt:  {receipt_path}  (nodes, p-hashes, transactions, timings)")
    click.echo("\nLook at its history:")
    click.echo("  on chain, as projected into Postgres (tables task_events and tasks):")
    click.echo(f"    $ {psql_command(_psql(), net.postgres.dsn, task_id)}")
    click.echo("  in Kafka, every message keyed by the task, decoded, as one timeline:")
    click.echo(f"    $ {hydrogen} demo kafka {task_id} {dir_args}")
    click.echo(
        "  as an app follows it (tasks.history, streamed by the relay as Server-Sent Events):"
    )
    click.echo(f"    $ {hydrogen} relay events {task_id} --url {net.relay.address}")
    click.echo("  as the chain has it:")
    click.echo(f"    $ {hydrogen} task status {task_id} {dir_args}")
    click.echo(
        f"\nThe devnet keeps running (`{hydrogen} devnet status {dir_args}`); run the demo "
        f"again for another task, stop it with `{hydrogen} devnet down {dir_args}`."
    )


# ---- running our own commands ----


def _hydrogen(*args: str, capture_stdout: bool = False, hint: str = "") -> str:
    """Run `hydrogen ARGS` as a user would, showing the command and, indented, its output;
    with `capture_stdout`, return its stdout (only stderr is shown). ClickException if it
    fails, with `hint` after the reason."""
    click.echo(f"  $ {_hydrogen_shown()} {shlex.join(args)}")
    argv = [sys.executable, "-m", "hydrogen", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile("w+") as captured:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=captured if capture_stdout else subprocess.PIPE,
            stderr=subprocess.PIPE if capture_stdout else subprocess.STDOUT,
            text=True,
            env=env,
        )
        stream = proc.stderr if capture_stdout else proc.stdout
        assert stream is not None
        for line in stream:
            click.echo(f"    {line.rstrip()}")
        code = proc.wait()
        captured.seek(0)
        stdout = captured.read()
    if code != 0:
        raise click.ClickException(
            f"`hydrogen {shlex.join(args)}` failed (exit {code}, its output is above)"
            + (f"; {hint}" if hint else "")
        )
    return stdout


def _hydrogen_shown() -> str:
    """How to type `hydrogen` here: the console script beside this Python (`.venv/bin/
    hydrogen` from the repository), else the name on PATH."""
    script = Path(sys.executable).parent / "hydrogen"
    if not script.exists():
        return "hydrogen"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _psql() -> str:
    if shutil.which("psql"):
        return "psql"
    from hydrogen.devnet.postgres import pg_bindir  # noqa: PLC0415

    return str(pg_bindir() / "psql")
