"""`hydrogen bridge …`: the chain bridge's processes."""

from __future__ import annotations

import click
from pydantic import ValidationError

from chain_bridge.errors import ChainBridgeError
from chain_bridge.ingest import open_ingest
from chain_bridge.ingest_settings import IngestSettings
from chain_bridge.submit import run_submitter
from chain_bridge.submit_settings import SubmitSettings
from hydrogen.cli.signals import stop_on_signals
from hydrogen.devnet.accounts import ANVIL_ACCOUNTS, ANVIL_MNEMONIC


@click.group("bridge")
def bridge() -> None:
    """The chain bridge: chain logs into Kafka, Kafka commands into transactions."""


@bridge.command("ingest")
@click.option("--confirmations", type=int, help="Publish blocks this deep only (default 0).")
@click.option("--start-block", type=int, help="Where a fresh ingest starts (default: deployment).")
def ingest(confirmations: int | None, start_block: int | None) -> None:
    """Publish the protocol contracts' logs to chain.task-events, chain.node-events and
    chain.contract-events, exactly once, following the head.

    \b
    Settings come from HYDROGEN_INGEST_* variables:
      KAFKA_BOOTSTRAP  RPC_URL  DEPLOYMENT_FILE (addresses and ABIs; .devnet/deployment.json)
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
    stop = stop_on_signals()
    try:
        running = open_ingest(settings)
        try:
            running.run(stop)
        finally:
            running.close()
    except (ChainBridgeError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc


@bridge.command("submit")
@click.option(
    "--devnet-keys",
    is_flag=True,
    help="Sign with the devnet's well-known mnemonic accounts (never on a real chain).",
)
def submit(devnet_keys: bool) -> None:
    """Sign and send the transactions asked for on chain.tx-requests; outcomes to
    chain.tx-outcomes.

    Settings come from HYDROGEN_SUBMIT_* variables (KAFKA_BOOTSTRAP, RPC_URL,
    DEPLOYMENT_FILE, INSTANCE_ID, KEYSTORE_DIR with KEYSTORE_PASSWORD or
    KEYSTORE_PASSWORD_FILE, MNEMONIC, ...). Runs until SIGINT or SIGTERM.
    """
    overrides = (
        {"mnemonic": ANVIL_MNEMONIC, "mnemonic_accounts": ANVIL_ACCOUNTS} if devnet_keys else {}
    )
    try:
        settings = SubmitSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc
    stop = stop_on_signals()
    try:
        run_submitter(settings, stop)
    except ValueError as exc:  # settings that give no keys, a deployment file that is not one
        raise click.ClickException(str(exc)) from exc
