"""`hydrogen task …` driven as an application drives it, against one network devnet: an SD
task with a LoRA and an LLM task through three nodes, their status, download and watch, a
refused argument, and cancelling a queued task and a finished one."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cli_runner import fresh_devnet_dir
from cli_runner import hydrogen as run_hydrogen
from eth_account import Account
from test_network_task import log_tails
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from hydrogen.devnet.accounts import Role, devnet_account
from schemas.phash import phash_png, split_result

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TASK_TIMEOUT_S = "240"
UNSERVED_VRAM_GB = "141"  # the top VRAM tier: the devnet's 24 GB nodes never take such a task
STATUS_CANCELLED = 7  # `TaskStatus.Cancelled`
hydrogen = partial(run_hydrogen, timeout=300)


@dataclass(frozen=True)
class Network:
    root: Path
    manager: Contract

    @property
    def dir(self) -> tuple[str, str]:
        return ("--dir", str(self.root))

    def task(self, task_id: int) -> dict[str, Any]:
        """getTask's struct by field name, read straight from the chain."""
        (function,) = [
            f for f in self.manager.abi if f.get("type") == "function" and f["name"] == "getTask"
        ]
        names = [c["name"] for c in function["outputs"][0]["components"]]
        return dict(zip(names, self.manager.functions.getTask(task_id).call(), strict=True))

    def validated_result(self, task_id: int) -> bytes:
        view = self.task(task_id)
        slot = [m[0] for m in view["members"]].index(view["resultNode"])
        return bytes(view["results"][slot])


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    with fresh_devnet_dir() as root:
        hydrogen("devnet", "up", "--network", "--nodes", "3", "--dir", str(root))
        deployment = json.loads((root / "deployment.json").read_text())
        w3 = Web3(HTTPProvider(deployment["rpcUrl"], request_kwargs={"timeout": 30}))
        manager = deployment["contracts"]["TaskManager"]
        yield Network(root, w3.eth.contract(address=manager["address"], abi=manager["abi"]))


def task(network: Network, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = hydrogen("task", *argv, *network.dir, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"hydrogen task {' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}"
            f"{proc.stderr}\n{log_tails(network.root)}"
        )
    return proc


@dataclass(frozen=True)
class SDRun:
    receipt: dict[str, Any]
    out: Path
    stderr: str


@pytest.fixture(scope="module")
def sd_run(network: Network, tmp_path_factory: pytest.TempPathFactory) -> SDRun:
    out = tmp_path_factory.mktemp("sd")
    proc = task(
        network,
        "run",
        "--prompt",
        "a red fox in the snow",
        "--lora",
        "tiny-lora-sd15",
        "--size",
        "64x64",
        "--steps",
        "2",
        "--num-images",
        "2",
        "--seed",
        "7",
        "--out",
        str(out),
        "--timeout",
        TASK_TIMEOUT_S,
        "--json",
    )
    return SDRun(json.loads(proc.stdout), out, proc.stderr)


@pytest.mark.timeout(600)
def test_an_sd_task_with_a_lora_gives_png_images_whose_phashes_the_chain_validated(
    network: Network, sd_run: SDRun
) -> None:
    receipt = sd_run.receipt
    task_id = receipt["task_id"]
    assert receipt["status"] == "Completed" and receipt["verified"] is True
    assert receipt["model_ids"] == ["base:tiny-sd15", "lora:tiny-lora-sd15"]

    chain_hashes = [h.hex() for h in split_result(network.validated_result(task_id))]
    assert receipt["phashes"] == chain_hashes
    images = sorted(sd_run.out.glob(f"task-{task_id}-*.png"))
    assert [p.name for p in images] == [f"task-{task_id}-0.png", f"task-{task_id}-1.png"]
    for path, expected in zip(images, chain_hashes, strict=True):
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert phash_png(data).hex() == expected
    assert [f["actual"] for f in receipt["files"]] == chain_hashes

    on_disk = json.loads((sd_run.out / f"task-{task_id}.receipt.json").read_text())
    assert on_disk == receipt
    chain_view = network.task(task_id)
    assert receipt["args_hash"] == "0x" + bytes(chain_view["argsHash"]).hex()
    assert sorted(receipt["nodes"]) == sorted(m[0] for m in chain_view["members"])
    w3 = network.manager.w3
    assert w3.eth.get_transaction_receipt(receipt["transactions"]["create"])["status"] == 1
    assert len(receipt["transactions"]["commits"]) == 3
    assert receipt["transactions"]["completed"]
    # Every phase from running on was timed as it was watched, in order.
    assert list(receipt["timings_s"]) == ["running", "commit", "reveal", "validated"]
    for phase in ("running", "commit", "reveal", "validated", "delivered"):
        assert f"] {phase}" in sd_run.stderr, sd_run.stderr


@pytest.mark.timeout(600)
def test_an_llm_task_prints_its_answer_and_saves_what_the_chain_validated(
    network: Network, tmp_path: Path
) -> None:
    proc = task(
        network,
        "run",
        "--llm",
        "--message",
        "Why is the sky blue?",
        "--max-tokens",
        "8",
        "--out",
        str(tmp_path),
        "--timeout",
        TASK_TIMEOUT_S,
    )
    answer = proc.stdout.strip()
    assert answer
    (receipt_file,) = tmp_path.glob("task-*.receipt.json")
    receipt = json.loads(receipt_file.read_text())
    assert receipt["kind"] == "LLM" and receipt["status"] == "Completed"
    assert receipt["answer"].strip() == answer
    document = (tmp_path / f"task-{receipt['task_id']}-0.json").read_bytes()
    assert hashlib.sha256(document).digest() == network.validated_result(receipt["task_id"])
    assert json.loads(document)["choices"][0]["message"]["content"] == receipt["answer"]


@pytest.mark.timeout(600)
def test_status_of_the_finished_task_reports_the_chain_and_the_relay(
    network: Network, sd_run: SDRun
) -> None:
    task_id = sd_run.receipt["task_id"]
    status = json.loads(task(network, "status", str(task_id), "--json").stdout)
    assert status["task_id"] == task_id
    assert status["status"] == "Completed"
    assert status["result"] == "0x" + network.validated_result(task_id).hex()
    assert [n["node"] for n in status["nodes"]] == sd_run.receipt["nodes"]
    assert all(n["disclosed"] for n in status["nodes"])
    assert status["phases"][-1] == "delivered"
    assert status["transactions"] == sd_run.receipt["transactions"]
    assert status["relay"]["status"] in ("Validated", "Completed")  # the read model may lag


@pytest.mark.timeout(600)
def test_a_bad_size_is_refused_by_name_and_no_task_is_created(network: Network) -> None:
    before = network.manager.functions.taskCount().call()
    proc = task(
        network, "run", "--prompt", "a fox", "--size", "65x64", "--out", "unused", check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "--size: task_config.image_width=65" in proc.stderr
    assert network.manager.functions.taskCount().call() == before


@pytest.mark.timeout(600)
def test_a_queued_task_is_cancelled_and_a_completed_one_is_not(
    network: Network, sd_run: SDRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = task(
        network,
        "run",
        "--prompt",
        "a fox",
        "--size",
        "64x64",
        "--steps",
        "1",
        "--min-vram",
        UNSERVED_VRAM_GB,
        "--detach",
        "--json",
    )
    task_id = json.loads(queued.stdout)["task_id"]
    assert json.loads(task(network, "status", str(task_id), "--json").stdout)["status"] == "Queued"

    # The creator signs the cancel from a keystore holding the app's key.
    keystore = tmp_path / "app-keystore.json"
    app_key = devnet_account(Role.APP).key
    keystore.write_text(json.dumps(Account.encrypt(app_key, "pw", kdf="pbkdf2", iterations=2)))
    monkeypatch.setenv("HYDROGEN_APP_KEYSTORE_PASSWORD", "pw")
    cancelled = task(network, "cancel", str(task_id), "--keystore", str(keystore), "--json")
    assert json.loads(cancelled.stdout)["refund_wei"] == str(10**16)
    assert network.task(task_id)["status"] == STATUS_CANCELLED

    done = task(network, "cancel", str(sd_run.receipt["task_id"]), check=False)
    assert done.returncode == 1
    assert "WrongTaskStatus" in done.stderr and "Completed" in done.stderr


@pytest.mark.timeout(600)
def test_download_fetches_and_checks_the_finished_task_again_and_watch_sees_it_ended(
    network: Network, sd_run: SDRun, tmp_path: Path
) -> None:
    task_id = sd_run.receipt["task_id"]
    proc = task(network, "download", str(task_id), "--out", str(tmp_path), "--json")
    receipt = json.loads(proc.stdout)
    assert receipt["verified"] is True
    assert receipt["phashes"] == sd_run.receipt["phashes"]
    assert receipt["transactions"] == sd_run.receipt["transactions"]
    assert receipt["timings_source"] == "block-times"
    for i in range(2):
        assert (tmp_path / f"task-{task_id}-{i}.png").read_bytes() == (
            sd_run.out / f"task-{task_id}-{i}.png"
        ).read_bytes()

    watched = task(network, "watch", str(task_id), "--timeout", "30")
    assert watched.stdout.strip() == "Completed"
    assert "delivered" in watched.stderr
