"""The devnet as a whole: which services run, in what order they start and stop."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hydrogen.devnet.anvil import Anvil
from hydrogen.devnet.kafka import KafkaBroker
from hydrogen.devnet.layout import DevnetState, Layout, Ports
from hydrogen.devnet.network import (
    Component,
    NetworkEndpoints,
    check_node_count,
    ensure_tiny_models,
    network_components,
)
from hydrogen.devnet.node_join import join_devnet_nodes
from hydrogen.devnet.objectstore import FilesystemStore, SeaweedS3
from hydrogen.devnet.postgres import ExternalPostgres, Postgres
from hydrogen.devnet.relay import RelayProcess
from hydrogen.devnet.service import DevnetError, Health, Service

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    pid: int | None
    health: Health


class Devnet:
    def __init__(self, root: Path, state: DevnetState, pg_dsn: str | None = None) -> None:
        self.layout = Layout(root)
        self.state = state
        self.kafka = KafkaBroker(self.layout, state.ports.kafka, state.ports.kafka_controller)
        self.postgres: Postgres | ExternalPostgres = (
            ExternalPostgres(self.layout, pg_dsn)
            if pg_dsn
            else Postgres(self.layout, state.ports.postgres)
        )
        self.anvil = Anvil(self.layout, state.ports.anvil)
        self.objectstore: FilesystemStore | SeaweedS3 = (
            SeaweedS3(self.layout, state.ports) if state.s3 else FilesystemStore(self.layout)
        )
        self.relay = RelayProcess(
            self.layout,
            state.ports.relay,
            self.postgres.dsn,
            self.kafka.address,
            self.anvil.address,
            self.objectstore,
        )
        # Built even when the network is off, so that `down` stops what an earlier
        # `up --network` started.
        self.network: tuple[Component, ...] = network_components(
            self.layout,
            NetworkEndpoints(
                kafka_bootstrap=self.kafka.address,
                rpc_url=self.anvil.address,
                pg_dsn=self.postgres.dsn,
                relay_url=self.relay.address,
                streams_web_port=state.ports.streams_web,
            ),
            max(state.nodes, 1),
        )

    @classmethod
    def open(
        cls,
        root: Path,
        *,
        s3: bool | None = None,
        ports: Ports | None = None,
        pg_dsn: str | None = None,
        nodes: int | None = None,
    ) -> Devnet:
        """The devnet at `root`, with the ports and backends its first `up` chose.

        `s3` and `ports` only apply to a devnet that has never been started (or was reset):
        changing them under running services would orphan those services. `nodes` turns the
        network on (that many nodes) for this and later `up`s; None keeps what was saved.
        """
        layout = Layout(root)
        saved = layout.read_state()
        if nodes is not None:
            check_node_count(nodes)
        if saved is None:
            state = DevnetState(ports=ports or Ports(), s3=bool(s3), nodes=nodes or 0)
        else:
            if s3 is not None and s3 != saved.s3:
                backend = "S3 (SeaweedFS)" if saved.s3 else "the filesystem"
                raise DevnetError(
                    f"this devnet at {layout.root} stores blobs in {backend}; "
                    "run `hydrogen devnet reset` before switching backends"
                )
            state = saved
        pg_dsn = pg_dsn if pg_dsn is not None else os.environ.get("HYDROGEN_PG_DSN") or None
        if saved is not None and nodes is not None and nodes != saved.nodes:
            # The running worker and consumer hold the old node list; `up` would keep them.
            running = [c.name for c in cls(root, saved, pg_dsn).network if c.is_running()]
            if running:
                raise DevnetError(
                    f"the network runs {saved.nodes} nodes ({', '.join(running)} running); "
                    f"run `hydrogen devnet down` before changing --nodes to {nodes}"
                )
            state = replace(saved, nodes=nodes)
        return cls(root, state, pg_dsn)

    @property
    def services(self) -> tuple[Service, ...]:
        """The infrastructure: what every component of ours needs running first."""
        return (self.kafka, self.postgres, self.anvil, self.objectstore)

    @property
    def apps(self) -> tuple[Service, ...]:
        """Our own components, started once the infrastructure is up and prepared (the relay
        needs the migrated database and the deployment record); with the network on, the
        bridge, the projector, the streams worker and the GPU consumer too."""
        return (self.relay, *self.network) if self.state.nodes else (self.relay,)

    @property
    def _every_app(self) -> tuple[Service, ...]:
        return (self.relay, *self.network)

    def up(self, progress: Callable[[str], None] = lambda _: None) -> list[ServiceStatus]:
        """Start what is not running, wait until every service is healthy, then prepare each
        (topics, database schema, contracts, bucket). Safe to run again at any time."""
        self.layout.write_state(self.state)
        for service in self.services:
            if not service.is_running():
                progress(f"starting {service.name}")
                service.start()
        for service in self.services:
            started = time.monotonic()
            health = service.wait_healthy(START_TIMEOUT_S)
            service.prepare()
            progress(
                f"{service.name:<14} ready in {time.monotonic() - started:4.1f}s  {health.detail}"
            )
        if self.state.nodes:
            self._prepare_network(progress)
        for app in self.apps:
            started = time.monotonic()
            if not app.is_running():
                progress(f"starting {app.name}")
                app.start()
            health = app.wait_healthy(START_TIMEOUT_S)
            progress(f"{app.name:<14} ready in {time.monotonic() - started:4.1f}s  {health.detail}")
        return self.status()

    def _prepare_network(self, progress: Callable[[str], None]) -> None:
        """What the network's components need before they start: the nodes' models on disk
        and the nodes on chain."""
        started = time.monotonic()
        if ensure_tiny_models(self.layout):
            progress(
                f"{'models':<14} written in {time.monotonic() - started:4.1f}s  {self.layout.models_dir}"
            )
        deployment = json.loads(self.layout.deployment_file.read_text())
        joined = join_devnet_nodes(self.anvil.web3(), deployment, self.state.nodes)
        if joined:
            progress(f"{'nodes':<14} joined {len(joined)} of {self.state.nodes} on chain")

    def named(self, name: str) -> Service:
        """The service or app called `name`; one of the network's only while it is on."""
        every = {s.name: s for s in (*self.services, *self._every_app)}
        if name not in every:
            raise DevnetError(f"no service {name!r} in a devnet; there are {', '.join(every)}")
        if every[name] not in (*self.services, *self.apps):
            raise DevnetError(
                f"{name} is part of the network, which this devnet does not run; "
                "start it with `hydrogen devnet up --network`"
            )
        return every[name]

    def start_one(self, name: str) -> ServiceStatus:
        """Start one stopped service or app, wait until it is healthy (and prepared, for the
        infrastructure), and start nothing else: what it needs must be running already."""
        service = self.named(name)
        service.start()
        health = service.wait_healthy(START_TIMEOUT_S)
        if service in self.services:
            service.prepare()
        return ServiceStatus(service.name, service.address, service.pid(), health)

    def stop_one(self, name: str) -> bool:
        """Stop one service or app, leaving the others running; True if it was running."""
        return self.named(name).stop()

    def app_status(self) -> list[ServiceStatus]:
        return [
            ServiceStatus(
                a.name,
                a.address,
                a.pid(),
                a.health() if a.is_running() else Health(False, "stopped"),
            )
            for a in self.apps
        ]

    def status(self) -> list[ServiceStatus]:
        return [
            ServiceStatus(
                s.name,
                s.address,
                s.pid(),
                s.health() if s.is_running() else Health(False, "stopped"),
            )
            for s in self.services
        ]

    def down(self, progress: Callable[[str], None] = lambda _: None) -> list[str]:
        """Stop the processes this devnet started, in reverse order; return their names."""
        stopped = []
        for service in (*reversed(self._every_app), *reversed(self.services)):
            if service.stop():
                progress(f"stopped {service.name}")
                stopped.append(service.name)
        return stopped

    def reset(self) -> None:
        """Stop everything and delete the devnet's folder."""
        self.down()
        if any(s.pid() for s in (*self.services, *self._every_app)):
            raise DevnetError("a service is still running; not deleting its data")
        shutil.rmtree(self.layout.root, ignore_errors=True)
