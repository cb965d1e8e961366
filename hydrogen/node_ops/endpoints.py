"""Where the node commands find Kafka, the chain, the deployment record and Postgres.

An option (or its HYDROGEN_* variable) wins; what it leaves open comes from the devnet
folder (`--dir`, default `.devnet`): the ports its first `up` chose and its deployment.json,
as `hydrogen devnet status` shows them. Against another network, give the options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydrogen.devnet.layout import Layout
from hydrogen.devnet.supervisor import Devnet
from hydrogen.node_ops.errors import EndpointError
from hydrogen.node_ops.request import REGISTRY


@dataclass(frozen=True)
class Endpoints:
    root: Path  # the devnet folder asked, whether or not it holds a devnet
    devnet_found: bool
    kafka_bootstrap: str | None
    rpc_url: str | None
    deployment_file: Path | None
    pg_dsn: str | None

    def kafka(self) -> str:
        if self.kafka_bootstrap is None:
            raise EndpointError(
                f"no Kafka to publish to: pass --bootstrap (or HYDROGEN_KAFKA_BOOTSTRAP), or "
                f"--dir of a devnet ({self._no_devnet()})"
            )
        return self.kafka_bootstrap

    def deployment(self) -> dict[str, Any]:
        """The deployment record; it must name a NodeRegistry."""
        if self.deployment_file is None:
            raise EndpointError(
                f"no deployment record: pass --deployment FILE, or --dir of a devnet "
                f"({self._no_devnet()})"
            )
        try:
            record: dict[str, Any] = json.loads(self.deployment_file.read_text())
        except FileNotFoundError:
            raise EndpointError(
                f"no deployment record at {self.deployment_file}; `hydrogen devnet up` writes it"
            ) from None
        except ValueError as exc:
            raise EndpointError(f"{self.deployment_file} is not JSON: {exc}") from exc
        if REGISTRY not in record.get("contracts", {}):
            raise EndpointError(f"{self.deployment_file} has no {REGISTRY} contract")
        return record

    def rpc(self, deployment: dict[str, Any]) -> str:
        url = self.rpc_url or deployment.get("rpcUrl")
        if not url:
            raise EndpointError(
                "no RPC URL: pass --rpc-url (or HYDROGEN_RPC_URL); the deployment record names none"
            )
        return str(url)

    def _no_devnet(self) -> str:
        return f"there is none at {self.root}" if not self.devnet_found else "it names none"


def resolve(
    root: Path,
    *,
    bootstrap: str | None = None,
    rpc_url: str | None = None,
    deployment: Path | None = None,
    dsn: str | None = None,
) -> Endpoints:
    layout = Layout(root)
    if layout.read_state() is None:
        return Endpoints(layout.root, False, bootstrap, rpc_url, deployment, dsn)
    net = Devnet.open(root)  # reads state.json only; starts nothing
    return Endpoints(
        root=layout.root,
        devnet_found=True,
        kafka_bootstrap=bootstrap or net.kafka.address,
        rpc_url=rpc_url or net.anvil.address,
        deployment_file=deployment or net.layout.deployment_file,
        pg_dsn=dsn or net.postgres.dsn,
    )
