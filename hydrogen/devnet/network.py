"""The network's own components as devnet processes (`hydrogen devnet up --network`).

Each is one `hydrogen …` command, the same a deployment runs (docker-compose.yml names them
alike), configured only through its HYDROGEN_* variables so that it reads the devnet's ports
and files. All of them sign with devnet keys: never point these processes at a real chain.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from hydrogen.devnet.accounts import ANVIL_ACCOUNTS, Role, devnet_account, node_account
from hydrogen.devnet.layout import HOST, Layout
from hydrogen.devnet.service import DevnetError, Health, ProcessService

NODES_PER_TASK = 3  # TaskManager selects 3 nodes per task
MAX_NODES = ANVIL_ACCOUNTS - Role.FIRST_NODE
INFERENCE_SESSION_TIMEOUT_MS = 10_000


def check_node_count(nodes: int) -> int:
    if not NODES_PER_TASK <= nodes <= MAX_NODES:
        raise DevnetError(
            f"--nodes must be in [{NODES_PER_TASK}, {MAX_NODES}] (a task needs "
            f"{NODES_PER_TASK} nodes; anvil funds {ANVIL_ACCOUNTS} accounts), got {nodes}"
        )
    return nodes


class Component(ProcessService):
    """`python -m hydrogen -v COMMAND…` with its settings in the environment."""

    def __init__(
        self,
        layout: Layout,
        name: str,
        command: Sequence[str],
        settings: Mapping[str, str],
        health_url: str | None = None,
    ) -> None:
        super().__init__(layout)
        self.name = name
        self.command = tuple(command)
        self.settings = dict(settings)
        self.health_url = health_url

    @property
    def address(self) -> str:
        return self.health_url or "-"

    def argv(self) -> Sequence[str]:
        return [sys.executable, "-m", "hydrogen", "-v", *self.command]

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.settings}

    def health(self) -> Health:
        if not self.is_running():
            return Health(False, "not running")
        what = f"hydrogen {' '.join(self.command)}"
        if self.health_url is None:
            return Health(True, what)
        try:
            httpx.get(self.health_url, timeout=2)
        except httpx.HTTPError as exc:
            return Health(False, f"{what}: web server not reachable: {exc}")
        return Health(True, what)


class StreamsWorker(Component):
    def env(self) -> dict[str, str]:
        # Read only when the worker starts: opening a devnet must not write a secret.
        return {**super().env(), "HYDROGEN_STREAMS_NONCE_SECRET": nonce_secret(self.layout)}


@dataclass(frozen=True)
class NetworkEndpoints:
    """Where the components find the devnet's services."""

    kafka_bootstrap: str
    rpc_url: str
    pg_dsn: str
    relay_url: str
    streams_web_port: int


def network_components(
    layout: Layout, endpoints: NetworkEndpoints, nodes: int
) -> tuple[Component, ...]:
    """The components in start order: readers of the chain and of Kafka first, the streams
    worker (which sends jobs) and the GPU consumer (which runs them) last."""
    e = endpoints
    deployment = str(layout.deployment_file)
    return (
        Component(
            layout,
            "bridge-ingest",
            ["bridge", "ingest"],
            {
                "HYDROGEN_INGEST_KAFKA_BOOTSTRAP": e.kafka_bootstrap,
                "HYDROGEN_INGEST_RPC_URL": e.rpc_url,
                "HYDROGEN_INGEST_DEPLOYMENT_FILE": deployment,
                # anvil mines each transaction at once: a task crosses the chain about six
                # times, and each crossing waits half a poll on average.
                "HYDROGEN_INGEST_POLL_SECONDS": "0.05",
            },
        ),
        Component(
            layout,
            "bridge-submit",
            ["bridge", "submit", "--devnet-keys"],
            {
                "HYDROGEN_SUBMIT_KAFKA_BOOTSTRAP": e.kafka_bootstrap,
                "HYDROGEN_SUBMIT_RPC_URL": e.rpc_url,
                "HYDROGEN_SUBMIT_DEPLOYMENT_FILE": deployment,
            },
        ),
        Component(
            layout,
            "events-project",
            ["events", "project"],
            {
                "HYDROGEN_PROJECTOR_KAFKA_BOOTSTRAP": e.kafka_bootstrap,
                "HYDROGEN_PROJECTOR_PG_DSN": e.pg_dsn,
            },
        ),
        StreamsWorker(
            layout,
            "streams-worker",
            ["streams", "worker"],
            {
                "HYDROGEN_STREAMS_KAFKA_BOOTSTRAP": e.kafka_bootstrap,
                "HYDROGEN_STREAMS_NODE_ADDRESSES": ",".join(
                    node_account(i).address for i in range(nodes)
                ),
                "HYDROGEN_STREAMS_KEEPER_ADDRESS": devnet_account(Role.KEEPER).address,
                "HYDROGEN_STREAMS_WEB_HOST": HOST,
                "HYDROGEN_STREAMS_WEB_PORT": str(e.streams_web_port),
                "HYDROGEN_STREAMS_DATA_DIR": str(layout.data("streams")),
            },
            health_url=f"http://{HOST}:{e.streams_web_port}/",
        ),
        # One consumer holding every node's key: the consumer group hands each job to one
        # member, which must hold the key of the job's node (inference/consumer.py). Consumers
        # of chosen nodes run beside it in groups of their own (`hydrogen inference run
        # --devnet-node N --group-id G --only-own-nodes`; tests/e2e/test_drills.py).
        Component(
            layout,
            "inference",
            ["inference", "run", "--devnet-nodes", str(nodes)],
            {
                "HYDROGEN_INFERENCE_KAFKA_BOOTSTRAP": e.kafka_bootstrap,
                "HYDROGEN_INFERENCE_RELAY_URL": e.relay_url,
                "HYDROGEN_INFERENCE_MODEL_DIRS": str(layout.models_dir),
                "HYDROGEN_INFERENCE_DOWNLOAD_DIR": str(layout.data("model-downloads")),
                # A consumer restarted after a crash gets its partitions back once the dead
                # member's session expires: seconds here, as for the streams worker.
                "HYDROGEN_INFERENCE_SESSION_TIMEOUT_MS": str(INFERENCE_SESSION_TIMEOUT_MS),
                "HYDROGEN_INFERENCE_HEARTBEAT_INTERVAL_MS": "1000",
                "HF_HUB_OFFLINE": "1",
            },
        ),
    )


def nonce_secret(layout: Layout) -> str:
    """The streams worker's commitment-nonce key: made once, kept (mode 600) in the devnet
    folder, so a restarted worker reveals the nonces it committed to."""
    path = layout.nonce_secret_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def ensure_tiny_models(layout: Layout) -> bool:
    """Write the tiny models once with `hydrogen models make-tiny` (in a process of its own:
    torch takes seconds to import); True if some were missing and written now."""
    from inference import tiny_models  # noqa: PLC0415 (only its names; torch loads lazily)

    if all((layout.models_dir / name).is_dir() for name in tiny_models.ALL):
        return False
    log_path = layout.log("models")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "hydrogen", "models", "make-tiny", str(layout.models_dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if proc.returncode != 0:
        raise DevnetError(
            f"writing the tiny models failed (exit {proc.returncode}); see {log_path}"
        )
    return True
