from __future__ import annotations

import subprocess
import sys
import threading
import time

from chain_bridge.stall_guard import EXIT_STALLED, stall_guard


def test_a_block_that_outlives_its_deadline_is_reported_by_name() -> None:
    stalled: list[str] = []
    fired = threading.Event()

    def on_stall(what: str) -> None:
        stalled.append(what)
        fired.set()

    with stall_guard("commit", 0.05, on_stall):
        assert fired.wait(5)
    assert stalled == ["commit"]


def test_a_block_that_returns_in_time_is_left_alone() -> None:
    stalled: list[str] = []
    with stall_guard("commit", 0.2, stalled.append):
        pass
    time.sleep(0.3)
    assert stalled == []


def test_a_block_that_raises_is_left_alone_too() -> None:
    stalled: list[str] = []
    try:
        with stall_guard("commit", 0.2, stalled.append):
            raise ValueError("broker gone")
    except ValueError:
        pass
    time.sleep(0.3)
    assert stalled == []


def test_by_default_a_stall_ends_the_process_with_its_own_exit_status() -> None:
    code = (
        "import time\n"
        "from chain_bridge.stall_guard import stall_guard\n"
        "with stall_guard('commit', 0.1):\n"
        "    time.sleep(30)\n"
    )
    started = time.monotonic()
    argv = [sys.executable, "-c", code]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=20)
    assert proc.returncode == EXIT_STALLED
    assert "commit: stalled past its deadline" in proc.stderr
    assert time.monotonic() - started < 15
