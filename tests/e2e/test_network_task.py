"""One real task through the whole network of a devnet (`hydrogen devnet up --network`):
created on chain by the app, run by three nodes' GPU consumer on the tiny SD model, validated
by commit-reveal, delivered through the relay and downloaded by the app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cli_runner import fresh_devnet_dir
from cli_runner import hydrogen as run_hydrogen
from web3 import HTTPProvider, Web3

from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.layout import Layout
from hydrogen.devnet.process import load
from hydrogen.gas_report import ContractsDriver
from relay_api.client import RelayClient, RelayClientError, TaskInfo
from schemas.phash import phash_png, split_result
from schemas.task_args import TaskKind, args_hash, model_ids_of, parse_task_args

NODES = 3
FEE_WEI = 10**16
TASK_TIMEOUT_S = 300.0
APPS = (  # what `up --network` runs besides the infrastructure; their logs tell a failure
    "bridge-ingest",
    "bridge-submit",
    "events-project",
    "streams-worker",
    "inference",
    "relay",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
hydrogen = partial(run_hydrogen, timeout=300)  # `up --network` makes models and joins nodes


@pytest.fixture
def network_dir() -> Iterator[Path]:
    with fresh_devnet_dir() as root:
        yield root


def log_tails(root: Path, lines: int = 30) -> str:
    parts = []
    for name in APPS:
        path = Layout(root).log(name)
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        parts.append(f"==> {name} <==\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(parts)


def sd_task_args() -> bytes:
    """A small, fast SD task on the tiny SD 1.5 model the devnet's nodes hold."""
    return json.dumps(
        {
            "base_model": "tiny-sd15",
            "prompt": "a red fox in the snow",
            "task_config": {
                "image_width": 64,
                "image_height": 64,
                "steps": 2,
                "num_images": 2,
                "seed": 7,
                "cfg": 12,
            },
        }
    ).encode()


def wait_until_ended(relay: RelayClient, task_id: int, root: Path) -> TaskInfo:
    deadline = time.monotonic() + TASK_TIMEOUT_S
    info: TaskInfo | None = None
    while time.monotonic() < deadline:
        try:
            info = relay.task(task_id)
        except RelayClientError:  # not on the relay yet: a 404 until it sees the task
            info = None
        if info is not None and info.ended:
            return info
        time.sleep(1)
    raise AssertionError(
        f"task {task_id} not ended after {TASK_TIMEOUT_S:.0f}s; last seen "
        f"{info.status if info else 'nowhere'}\n{log_tails(root)}"
    )


def validated_result(driver: ContractsDriver, task_id: int) -> bytes:
    view: Any = driver.manager.functions.getTask(task_id).call()
    result_node, members, results = view[10], view[11], view[13]
    slot = [m[0] for m in members].index(result_node)
    return bytes(results[slot])


@pytest.mark.timeout(600)
def test_one_sd_task_goes_through_the_network(network_dir: Path) -> None:
    d = str(network_dir)
    hydrogen("devnet", "up", "--network", "--nodes", str(NODES), "--dir", d)
    status = json.loads(hydrogen("devnet", "status", "--dir", d, "--json").stdout)
    apps = {a["name"]: a for a in status["apps"]}
    assert set(apps) == set(APPS), apps
    assert all(a["health"]["ok"] for a in apps.values()), apps

    deployment = json.loads((network_dir / "deployment.json").read_text())
    w3 = Web3(HTTPProvider(deployment["rpcUrl"], request_kwargs={"timeout": 30}))
    driver = ContractsDriver.from_deployment(w3, deployment)
    app = devnet_account(Role.APP)

    raw = sd_task_args()
    task_id, _ = driver.create_task(
        app.address,
        FEE_WEI,
        args_hash=args_hash(raw),
        model_ids=model_ids_of(parse_task_args(TaskKind("SD"), raw)),
    )
    with RelayClient(status["relay_url"], private_key=app.key) as relay:
        relay.put_args(task_id, raw)
        info = wait_until_ended(relay, task_id, network_dir)
        assert info.status == "Completed", f"{info.raw}\n{log_tails(network_dir)}"
        images = [relay.download_result(task_id, i) for i in range(2)]

    hashes = split_result(validated_result(driver, task_id))
    assert len(hashes) == 2
    for image, expected in zip(images, hashes, strict=True):
        assert isinstance(image, bytes) and image.startswith(PNG_SIGNATURE)
        assert phash_png(image) == expected

    records = [load(p) for p in (network_dir / "pids").glob("*.json")]
    assert {r.name for r in records if r} == {"kafka", "anvil", *APPS}
    down = hydrogen("devnet", "down", "--dir", d)
    # the apps, anvil, kafka and postgres (the object store is a folder)
    assert f"stopped {len(APPS) + 3} service(s)" in down.stdout
    assert not any(r.is_running() for r in records if r)
