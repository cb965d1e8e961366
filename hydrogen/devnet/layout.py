"""Where a devnet keeps its files, and which loopback ports it listens on.

Everything a devnet writes stays under its root folder (`.devnet/` by default), so `reset`
is one `rm -rf`. Ports are chosen once, at the first `up`, and kept in `state.json`.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass, fields
from pathlib import Path

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    kafka: int = 19092
    kafka_controller: int = 19093
    postgres: int = 15432
    anvil: int = 18545
    s3: int = 18333
    # SeaweedFS runs a master, a volume server, a filer and an admin server behind its S3
    # gateway; each also has a gRPC port. All of them are pinned so none binds a default.
    weed_master: int = 19333
    weed_volume: int = 19340
    weed_filer: int = 19888
    weed_admin: int = 19646
    weed_master_grpc: int = 29333
    weed_volume_grpc: int = 29340
    weed_filer_grpc: int = 29888
    weed_admin_grpc: int = 29646
    weed_s3_grpc: int = 28333
    relay: int = 18080
    streams_web: int = 16066  # the streams worker's faust web server (`up --network`)

    @classmethod
    def free(cls) -> Ports:
        """A set of ports that are free right now (for tests that run beside a user's devnet)."""
        socks = []
        try:
            for _ in fields(cls):
                s = socket.socket()
                s.bind((HOST, 0))
                socks.append(s)
            return cls(*(s.getsockname()[1] for s in socks))
        finally:
            for s in socks:
                s.close()


@dataclass(frozen=True)
class DevnetState:
    """What `up` decided once and every later command must agree with."""

    ports: Ports
    s3: bool
    nodes: int = 0  # devnet nodes the network runs (`up --network`); 0: services only

    def to_json(self) -> str:
        return json.dumps(
            {"ports": asdict(self.ports), "s3": self.s3, "nodes": self.nodes}, indent=1
        )

    @classmethod
    def from_json(cls, text: str) -> DevnetState:
        data = json.loads(text)
        # A state written before a field existed takes that field's default.
        ports = Ports(
            **{f.name: data["ports"][f.name] for f in fields(Ports) if f.name in data["ports"]}
        )
        return cls(ports=ports, s3=bool(data["s3"]), nodes=int(data.get("nodes", 0)))


class Layout:
    """Paths under one devnet root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def deployment_file(self) -> Path:
        return self.root / "deployment.json"

    @property
    def s3_credentials_file(self) -> Path:
        return self.root / "s3-credentials.json"

    @property
    def nonce_secret_file(self) -> Path:
        return self.root / "streams-nonce-secret"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def log(self, service: str) -> Path:
        return self.root / "logs" / f"{service}.log"

    def pid(self, service: str) -> Path:
        return self.root / "pids" / f"{service}.json"

    def data(self, service: str) -> Path:
        return self.root / service

    def read_state(self) -> DevnetState | None:
        try:
            return DevnetState.from_json(self.state_file.read_text())
        except FileNotFoundError:
            return None

    def write_state(self, state: DevnetState) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(state.to_json())
