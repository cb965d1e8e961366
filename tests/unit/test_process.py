from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from hydrogen.devnet import process

# A parent that starts a child and both sleep: stopping the parent must stop the child too.
FAMILY = (
    "import subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "print(child.pid, flush=True); time.sleep(60)"
)


def _wait_for_line(path: Path) -> str:
    for _ in range(100):
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"nothing written to {path}")


def test_stop_ends_the_process_and_its_children(tmp_path: Path) -> None:
    log = tmp_path / "family.log"
    record = process.spawn("family", [sys.executable, "-c", FAMILY], log)
    child_pid = int(_wait_for_line(log))
    assert record.is_running()

    assert process.stop(record, timeout=5) is True

    assert not record.is_running()
    assert (
        not Path(f"/proc/{child_pid}").exists()
        or "Z" in Path(f"/proc/{child_pid}/stat").read_text().split()[2]
    )


def test_a_record_survives_a_save_and_load(tmp_path: Path) -> None:
    record = process.spawn("sleeper", ["sleep", "30"], tmp_path / "s.log")
    try:
        process.save(record, tmp_path / "pids" / "sleeper.json")
        assert process.load(tmp_path / "pids" / "sleeper.json") == record
    finally:
        process.stop(record)


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    record = process.spawn("sleeper", ["sleep", "30"], tmp_path / "s.log")
    try:
        # Same PID, another start time: what a record looks like after the OS reused its PID.
        stale = dataclasses.replace(record, start_ticks=record.start_ticks - 1)
        assert not stale.is_running()
        assert process.stop(stale) is False
        assert record.is_running()
    finally:
        process.stop(record)


def test_loading_a_missing_record_gives_none(tmp_path: Path) -> None:
    assert process.load(tmp_path / "none.json") is None
