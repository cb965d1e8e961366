"""`hydrogen demo` as a newcomer meets it (`make demo` runs it): on a fresh devnet folder it
starts the whole network and runs one task, then prints where the images and the receipt are
and commands that show the task's history. Each printed path is opened and each printed
command is run exactly as printed. A second demo, with a model folder of this machine, reuses
the running devnet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path

import pytest
from cli_runner import REPO_ROOT, fresh_devnet_dir, hydrogen
from test_network_task import log_tails

from schemas.phash import phash_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMMAND_TIMEOUT_S = 120


def printed_paths(stdout: str, label: str) -> list[Path]:
    """The paths the last step prints after `label` (`images:`, `receipt:`), one a line,
    more lines indented under the first."""
    lines = stdout.split("[4/4]", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(label))
    paths = [lines[start].split(label, 1)[1].split()[0]]
    paths += [
        line.strip() for line in takewhile(lambda x: x.startswith(" " * 12), lines[start + 1 :])
    ]
    return [Path(p) for p in paths]


def history_commands(stdout: str) -> list[str]:
    """The `$ …` command lines printed after the task's summary."""
    tail = stdout.split("Look at its history:", 1)[1]
    return [m[1] for m in re.finditer(r"^\s+\$ (.+)$", tail, flags=re.MULTILINE)]


def run_printed(command: str) -> str:
    proc = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        cwd=REPO_ROOT,
        check=False,
    )
    assert proc.returncode == 0, f"{command}\nexited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def devnet_root() -> Iterator[Path]:
    with fresh_devnet_dir() as root:
        yield root


def demo(root: Path, *args: str) -> str:
    proc = hydrogen("demo", "--dir", str(root), *args, check=False, timeout=1000)
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\n{log_tails(root)}"
    return proc.stdout


@pytest.mark.timeout(1200)
def test_the_demo_runs_a_task_and_prints_paths_and_commands_that_show_it(
    devnet_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    stdout = demo(devnet_root, "--out", str(out))

    (receipt_path,) = printed_paths(stdout, "receipt:")
    receipt = json.loads(receipt_path.read_text())
    task_id = receipt["task_id"]
    assert receipt["status"] == "Completed" and receipt["verified"] is True
    assert receipt["model_ids"] == ["base:tiny-sd15"]
    images = printed_paths(stdout, "images:")
    assert images == [out.resolve() / f"task-{task_id}-{i}.png" for i in range(2)]
    for image, expected in zip(images, receipt["phashes"], strict=True):
        data = image.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert phash_png(data).hex() == expected

    psql, kafka, relay_events, chain_status = history_commands(stdout)
    assert psql.startswith("psql ") or "/psql " in psql
    rows = run_printed(psql)
    assert re.search(rf"^\s*{task_id}\s*\|\s*Completed\s*\|\s*SD\s*\|\s*3\s*\|", rows, re.M)
    for event in ("TaskCreated", "NodeSelected", "CommitmentSubmitted", "TaskCompleted"):
        assert event in rows, rows

    timeline = run_printed(kafka)
    for topic, record in (
        ("chain.task-events", "TaskCreated"),
        ("inference.jobs", "InferenceJob"),
        ("inference.results", "InferenceResult"),
        ("tasks.history", "TaskStatusChanged"),
    ):
        assert re.search(rf"{re.escape(topic)}\s+\d+\s+\d+\s+{record}", timeline), timeline
    assert timeline.count("InferenceResult") == 3
    assert "to_status=Completed" in timeline

    assert "Validated -> Completed" in run_printed(relay_events)

    status = run_printed(chain_status)
    assert status.startswith(f"task {task_id}: SD, Completed")
    assert f"result     0x{''.join(receipt['phashes'])}" in status


@pytest.mark.timeout(1200)
def test_a_second_demo_with_a_model_folder_reuses_the_devnet_and_the_nodes_declare_it(
    devnet_root: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "my-sd15"
    shutil.copytree(devnet_root / "models" / "tiny-sd15", folder)
    out = tmp_path / "results"
    stdout = demo(
        devnet_root, "--out", str(out), "--model", str(folder), "--size", "64x64", "--steps", "2"
    )

    assert "starting kafka" not in stdout  # the running devnet was reused
    assert (devnet_root / "models" / "local" / "my-sd15").resolve() == folder.resolve()
    (receipt_path,) = printed_paths(stdout, "receipt:")
    receipt = json.loads(receipt_path.read_text())
    assert receipt["status"] == "Completed" and receipt["verified"] is True
    assert receipt["model_ids"] == ["base:local/my-sd15"]
    for index in range(3):
        node = hydrogen(
            "node", "status", "--devnet-node", str(index), "--json", "--dir", str(devnet_root)
        )
        declared = json.loads(node.stdout)["chain"]["model_ids"]
        assert declared[-1] == "base:local/my-sd15" and "base:tiny-sd15" in declared
