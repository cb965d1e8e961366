"""`hydrogen bridge ingest`: contract logs into Kafka."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from pydantic import ValidationError

from chain_bridge.errors import ChainBridgeError
from chain_bridge.ingest import open_ingest
from chain_bridge.ingest_settings import IngestSettings


@click.command("ingest")
@click.option("--confirmations", type=int, help="Publish blocks this deep only (default 0).")
@click.option("--start-block", type=int, help="Where a fresh ingest starts (default: deployment).")
def ingest(confirmations: int | None, start_block: int | None) -> None:
    """Publish the protocol contracts' logs to chain.task-events, chain.node-events and
    chain.contract-events, exactly once, following the head.

    \b
    Settings come from HYDROGEN_INGEST_* variables:
      KAFKA_BOOTSTRAP  RPC_URL  DEPLOYMENT (deployment.json with addresses and ABIs)
      CONFIRMATIONS  START_BLOCK  RANGE_BLOCKS  WINDOW_BLOCKS  POLL_SECONDS
    Resumes from the cursor it commits with every batch (chain.ingest-cursor). Runs until
    SIGINT or SIGTERM; stops with an error on a reorg deeper than its window.
    """
    overrides = {
        k: v
        for k, v in {"confirmations": confirmations, "start_block": start_block}.items()
        if v is not None
    }
    try:
        settings = IngestSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        bridge = open_ingest(settings)
        try:
            bridge.run(stop)
        finally:
            bridge.close()
    except (ChainBridgeError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
