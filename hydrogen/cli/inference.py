"""`hydrogen models …` and `hydrogen inference …`: the nodes' models and the GPU consumer."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from hydrogen.cli.signals import stop_on_signals
from hydrogen.devnet.network import MAX_NODES
from inference.settings import SHARED_GROUP_ID, InferenceSettings


@click.group("models")
def models() -> None:
    """Models for the nodes: tiny local ones for tests and the demo, and fetching real ones."""


@models.command("make-tiny")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Write again the models that are already there.")
def make_tiny(directory: Path, overwrite: bool) -> None:
    """Write tiny random SD 1.5, SDXL (and refiner), VAE, LoRA, ControlNet, textual-inversion
    and GPT-2 models under DIRECTORY, built locally (no hub).

    \b
    Point a node at them with HYDROGEN_INFERENCE_MODEL_DIRS=DIRECTORY; tasks then name them
    by folder, e.g. {"base_model": "tiny-sd15", ...}.
    """
    from inference.tiny_models import make_tiny as write  # noqa: PLC0415 (torch is slow to import)

    for model in write(directory, overwrite=overwrite):
        click.echo(f"{model.name}\t{model.path}")


@models.command("fetch")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["pipeline", "component", "weights", "llm"]),
    default="pipeline",
    show_default=True,
    help="What NAME is: an SD pipeline, one model (VAE, ControlNet), a LoRA/embedding, an LLM.",
)
@click.option("--variant", help="Weights variant, e.g. fp16.")
@click.option("--weight-file", help="The one file of a LoRA repo to fetch.")
@click.option("--download-dir", type=click.Path(file_okay=False, path_type=Path))
def fetch(
    name: str, role: str, variant: str | None, weight_file: str | None, download_dir: Path | None
) -> None:
    """Fetch model NAME (a Hugging Face repo id or a URL) into the cache, so that a node
    running offline (HF_HUB_OFFLINE=1) finds it."""
    from inference.download import tqdm_progress  # noqa: PLC0415
    from inference.errors import ModelUnavailable  # noqa: PLC0415
    from inference.model_store import ModelRole, ModelStore  # noqa: PLC0415
    from inference.settings import InferenceSettings  # noqa: PLC0415

    settings = InferenceSettings()
    store = ModelStore(
        model_dirs=tuple(settings.model_dirs),
        download_dir=download_dir or settings.download_dir,
        offline=False,
        progress=tqdm_progress,
    )
    try:
        found = store.locate(name, ModelRole(role), variant=variant, weight_file=weight_file)
    except ModelUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{found.origin}\t{found.path}")


@click.group("inference")
def inference() -> None:
    """The GPU consumer: runs our nodes' jobs from inference.jobs."""


@inference.command("run")
@click.option(
    "--devnet-nodes",
    type=click.IntRange(0, MAX_NODES),
    default=0,
    help="Run for the first N devnet nodes (keys from anvil's test mnemonic), instead of "
    "HYDROGEN_INFERENCE_NODE_KEYS.",
)
@click.option(
    "--devnet-node",
    "devnet_node",
    type=click.IntRange(0, MAX_NODES - 1),
    multiple=True,
    metavar="INDEX",
    help="Run for devnet node INDEX (0-based; repeat for more), instead of "
    "HYDROGEN_INFERENCE_NODE_KEYS. Not with --devnet-nodes.",
)
@click.option(
    "--group-id",
    metavar="GROUP",
    help="Consumer group (default: HYDROGEN_INFERENCE_GROUP_ID, else the shared "
    f"{SHARED_GROUP_ID!r}). Give each operator's consumers a group of their own.",
)
@click.option(
    "--only-own-nodes",
    is_flag=True,
    help="Skip the jobs of nodes this consumer holds no key for (committed past, not "
    "dead-lettered): another operator's consumers answer them in their own group. Needs "
    "--group-id. Also HYDROGEN_INFERENCE_ONLY_OWN_NODES=1.",
)
def run(
    devnet_nodes: int, devnet_node: tuple[int, ...], group_id: str | None, only_own_nodes: bool
) -> None:
    """Consume inference.jobs: fetch each task's arguments from the relay, run the models,
    p-hash the images, stage them on the relay and publish inference.results.

    \b
    One deployment, one fleet: every consumer joins the shared group and holds every node's
    key; a job for a node it lacks goes to inference.jobs.dlq. Several operators on one
    topic: each runs its consumers in a group of its own with --only-own-nodes, e.g.
      hydrogen inference run --devnet-node 0 --devnet-node 1 --group-id op-a --only-own-nodes
      hydrogen inference run --devnet-node 2 --group-id op-b --only-own-nodes

    \b
    Settings come from HYDROGEN_INFERENCE_* variables:
      KAFKA_BOOTSTRAP  GROUP_ID  ONLY_OWN_NODES  RELAY_URL  RELAY_WAIT_S
      NODE_KEYS (comma-separated private keys)  MODEL_DIRS (comma-separated)  DOWNLOAD_DIR
      OFFLINE (or HF_HUB_OFFLINE)  DEVICE  CACHE_BUDGET_GIB  MAX_POLL_INTERVAL_MS
    Runs until SIGINT or SIGTERM.
    """
    if devnet_nodes and devnet_node:
        raise click.UsageError(
            f"--devnet-nodes {devnet_nodes} and --devnet-node "
            f"{', '.join(map(str, devnet_node))} both pick nodes; use one of them"
        )
    overrides: dict[str, object] = {}
    indexes = tuple(range(devnet_nodes)) or tuple(dict.fromkeys(devnet_node))
    if indexes:
        from hydrogen.devnet.accounts import node_account  # noqa: PLC0415

        overrides["node_keys"] = ",".join(node_account(i).key.hex() for i in indexes)
    if group_id is not None:
        overrides["group_id"] = group_id
    if only_own_nodes:
        overrides["only_own_nodes"] = True
    try:
        settings = InferenceSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise click.ClickException(settings_errors(exc)) from None

    from inference.bootstrap import run_consumer  # noqa: PLC0415 (torch is slow to import)

    try:
        run_consumer(settings, stop_on_signals())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def settings_errors(exc: ValidationError) -> str:
    """The settings' errors without the values given: the node keys are among them."""
    return "invalid settings: " + "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
    )
