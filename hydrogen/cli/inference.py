"""`hydrogen models …` and `hydrogen inference …`: the nodes' models and the GPU consumer."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from hydrogen.cli.signals import stop_on_signals


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
    type=int,
    default=0,
    help="Run for the first N devnet nodes (keys from anvil's test mnemonic), instead of "
    "HYDROGEN_INFERENCE_NODE_KEYS.",
)
def run(devnet_nodes: int) -> None:
    """Consume inference.jobs: fetch each task's arguments from the relay, run the models,
    p-hash the images, stage them on the relay and publish inference.results.

    \b
    Settings come from HYDROGEN_INFERENCE_* variables:
      KAFKA_BOOTSTRAP  GROUP_ID  RELAY_URL  NODE_KEYS (comma-separated private keys)
      MODEL_DIRS (comma-separated)  DOWNLOAD_DIR  OFFLINE (or HF_HUB_OFFLINE)  DEVICE
      CACHE_BUDGET_GIB  MAX_POLL_INTERVAL_MS
    Runs until SIGINT or SIGTERM.
    """
    from inference.bootstrap import run_consumer  # noqa: PLC0415
    from inference.settings import InferenceSettings  # noqa: PLC0415

    overrides = {}
    if devnet_nodes:
        from hydrogen.devnet.accounts import node_account  # noqa: PLC0415

        overrides["node_keys"] = ",".join(node_account(i).key.hex() for i in range(devnet_nodes))
    try:
        settings = InferenceSettings(**overrides)  # type: ignore[arg-type]
        run_consumer(settings, stop_on_signals())
    except (ValidationError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
