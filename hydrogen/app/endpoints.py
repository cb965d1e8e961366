"""Where an app finds the chain, the contracts and the relay.

As every `hydrogen` command does, from a devnet folder (`--dir`, `.devnet` by default): its
deployment record (`deployment.json`, which holds the RPC URL too) and the relay's port from
its state. Each can be given instead (`--deployment FILE`, `--rpc-url`, `--relay-url`), which
is how an app reaches a network that is not a local devnet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydrogen.app.errors import EndpointError
from hydrogen.devnet.layout import Layout
from hydrogen.devnet.supervisor import Devnet


@dataclass(frozen=True)
class Endpoints:
    rpc_url: str
    relay: str | None  # None: no devnet to find it in, and none given
    deployment: dict[str, Any]

    @property
    def relay_url(self) -> str:
        if self.relay is None:
            raise EndpointError(
                "no relay to talk to: give --relay-url, or --dir of a devnet "
                "(`hydrogen devnet up --network` starts one)"
            )
        return self.relay


def resolve_endpoints(
    root: Path,
    *,
    rpc_url: str | None = None,
    relay_url: str | None = None,
    deployment_file: Path | None = None,
) -> Endpoints:
    layout = Layout(root)
    record = _deployment(deployment_file or layout.deployment_file, given=deployment_file)
    rpc = rpc_url or record.get("rpcUrl")
    if not rpc:
        raise EndpointError(
            f"the deployment record names no rpcUrl; give --rpc-url ({deployment_file})"
        )
    if relay_url is None and layout.read_state() is not None:
        relay_url = Devnet.open(root).relay.address
    return Endpoints(rpc_url=str(rpc), relay=relay_url, deployment=record)


def _deployment(path: Path, given: Path | None) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        where = (
            f"deployment file {path}"
            if given
            else f"no devnet deployment at {path}; start one with `hydrogen devnet up --network`, "
            "or give --deployment FILE"
        )
        raise EndpointError(where if not given else f"{where} does not exist") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EndpointError(f"deployment file {path} is not JSON: {exc}") from exc
    if not isinstance(record, dict) or "contracts" not in record:
        raise EndpointError(f"deployment file {path} is no deployment record (no 'contracts')")
    return record
