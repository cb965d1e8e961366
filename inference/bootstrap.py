"""The one wiring function: settings in, a running GPU consumer out.

Only the entry point (`hydrogen inference run`) calls this; everything below it takes its
collaborators as arguments, so tests pass fakes or real services as they need.
"""

from __future__ import annotations

import logging
import threading

import torch
from eth_account import Account

from inference.consumer import ConsumerConfig, InferenceConsumer
from inference.download import tqdm_progress
from inference.engine import Engine
from inference.job_runner import JobRunner
from inference.model_store import ModelStore
from inference.pipelines.determinism import default_device, make_deterministic
from inference.ports import Runner
from inference.relay import RelayGateway
from inference.settings import GIB, InferenceSettings
from relay_api.client import RelayClient

log = logging.getLogger(__name__)

CACHE_SHARE_OF_MEMORY = 0.8


def build_engine(settings: InferenceSettings) -> Engine:
    make_deterministic()
    device = default_device() if settings.device == "auto" else torch.device(settings.device)
    store = ModelStore(
        model_dirs=tuple(settings.model_dirs),
        download_dir=settings.download_dir,
        offline=settings.offline,
        progress=tqdm_progress,
    )
    budget = int(settings.cache_budget_gib * GIB) or cache_budget(device)
    log.info("engine device=%s cache_budget_bytes=%d offline=%s", device, budget, settings.offline)
    return Engine(store, device=device, cache_budget_bytes=budget)


def cache_budget(device: torch.device) -> int:
    """80% of the device's memory: what warm models may hold, leaving room for activations."""
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
    else:
        import os  # noqa: PLC0415

        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(total * CACHE_SHARE_OF_MEMORY)


def run_consumer(
    settings: InferenceSettings, stop: threading.Event, runner: Runner | None = None
) -> None:
    """Run the consumer until `stop` is set. `runner` replaces the engine the settings
    describe (tests run a node that answers otherwise)."""
    keys = [key.get_secret_value() for key in settings.node_keys]
    if not keys:
        raise ValueError("no node keys: set HYDROGEN_INFERENCE_NODE_KEYS")
    nodes = {Account.from_key(key).address: key for key in keys}
    gateway = RelayGateway(
        {node: RelayClient(settings.relay_url, private_key=key) for node, key in nodes.items()},
        wait_s=settings.relay_wait_s,
    )
    config = ConsumerConfig(
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        jobs_topic=settings.jobs_topic,
        results_topic=settings.results_topic,
        poll_s=settings.poll_s,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        only_own_nodes=settings.only_own_nodes,
    )
    job_runner = JobRunner(gateway, gateway, runner or build_engine(settings))
    try:
        InferenceConsumer(config, job_runner, frozenset(nodes)).run(stop)
    finally:
        gateway.close()
