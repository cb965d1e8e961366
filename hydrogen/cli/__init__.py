"""The `hydrogen` command line."""

from __future__ import annotations

import logging

import click

from hydrogen.cli.bridge import bridge
from hydrogen.cli.demo import demo
from hydrogen.cli.devnet import devnet
from hydrogen.cli.events import events
from hydrogen.cli.inference import inference, models
from hydrogen.cli.node import node
from hydrogen.cli.ops import contracts_group, db_group, schemas_group, topics_group
from hydrogen.cli.relay import relay
from hydrogen.cli.streams import streams
from hydrogen.cli.task import task


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Hydrogen: a decentralized network for Stable Diffusion and LLM inference.

    \b
    Start a local network and run a task through it:
      hydrogen demo                         # the whole network, one task, its history
      hydrogen devnet up --network          # Kafka, PostgreSQL, anvil, relay, bridge, ...
      hydrogen task run --prompt "a fox" --out out/   # as an app: images and a receipt
      hydrogen node status --devnet-node 0  # as a node operator
      hydrogen devnet status                # health, ports, PIDs, topics
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if verbose < 2:
        # httpx logs every request at INFO: a component polling its RPC would fill its log.
        logging.getLogger("httpx").setLevel(logging.WARNING)


cli.add_command(devnet)
cli.add_command(topics_group)
cli.add_command(db_group)
cli.add_command(contracts_group)
cli.add_command(bridge)
cli.add_command(schemas_group)
cli.add_command(events)
cli.add_command(streams)
cli.add_command(models)
cli.add_command(inference)
cli.add_command(relay)
cli.add_command(node)
cli.add_command(task)
cli.add_command(demo)


def main() -> None:
    cli(prog_name="hydrogen")
