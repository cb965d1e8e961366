"""The devnet starts the relay, and `hydrogen devnet status` prints its URL."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from hydrogen.devnet.supervisor import Devnet


def test_the_devnet_runs_a_ready_relay(devnet: Devnet) -> None:
    assert devnet.relay.health().ok
    ready = httpx.get(f"{devnet.relay.address}/readyz", timeout=20)
    assert ready.status_code == 200, ready.text


def test_devnet_status_prints_the_relay_url(devnet: Devnet) -> None:
    cli = [sys.executable, "-m", "hydrogen", "devnet", "status", "--dir", str(devnet.layout.root)]
    text = subprocess.run(cli, capture_output=True, text=True, check=True).stdout
    assert f"relay:     {devnet.relay.address}" in text
    as_json = json.loads(
        subprocess.run([*cli, "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert as_json["relay_url"] == devnet.relay.address
    assert [a["name"] for a in as_json["apps"]] == ["relay"]
