"""`hydrogen devnet` driven as a user drives it, on a devnet of its own (free ports)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import fresh_devnet_dir, hydrogen

from hydrogen.devnet.process import load
from schemas.catalog import TOPICS


@pytest.fixture
def devnet_dir() -> Iterator[Path]:
    with fresh_devnet_dir() as root:
        yield root


def _our_processes(root: Path) -> list[str]:
    """Command lines of live processes that mention this devnet's folder."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if str(root) in line and "ps -eo" not in line]


def test_up_status_smoke_down_reset(devnet_dir: Path) -> None:
    d = str(devnet_dir)
    up = hydrogen("devnet", "up", "--dir", d)
    assert "devnet up in" in up.stdout

    status = json.loads(hydrogen("devnet", "status", "--dir", d, "--json").stdout)
    services = {s["name"]: s for s in status["services"]}
    assert sorted(services) == ["anvil", "kafka", "objectstore", "postgres"]
    assert all(s["health"]["ok"] for s in services.values()), services
    assert status["kafka_version"].startswith("4.")
    (relay,) = status["apps"]
    assert relay["name"] == "relay" and relay["health"]["ok"], relay
    assert status["relay_url"].startswith("http://127.0.0.1:")
    assert "Apache Kafka 4." in services["kafka"]["health"]["detail"]
    assert {t["name"]: t["partitions"] for t in status["topics"]} == {
        t.name: t.partitions for t in TOPICS
    }

    # `up` again is a no-op that keeps the same processes.
    pids = {name: s["pid"] for name, s in services.items()}
    hydrogen("devnet", "up", "--dir", d)
    again = json.loads(hydrogen("devnet", "status", "--dir", d, "--json").stdout)
    assert {s["name"]: s["pid"] for s in again["services"]} == pids

    smoke = hydrogen("devnet", "smoke", "--dir", d)
    assert "smoke check passed" in smoke.stdout

    records = [load(p) for p in (devnet_dir / "pids").glob("*.json")]
    assert {r.name for r in records if r} == {"kafka", "anvil", "relay"}
    down = hydrogen("devnet", "down", "--dir", d)
    # kafka, anvil, postgres and the relay (the object store is a folder)
    assert "stopped 4 service(s)" in down.stdout
    assert not any(r.is_running() for r in records if r)
    assert _our_processes(devnet_dir) == []

    stopped = hydrogen("devnet", "status", "--dir", d, check=False)
    assert stopped.returncode == 1
    assert "DOWN" in stopped.stdout

    hydrogen("devnet", "reset", "--dir", d, "--yes")
    assert not devnet_dir.exists()
