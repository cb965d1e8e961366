"""Start long-running programs detached, remember them by PID, stop exactly those.

A PID alone can be reused by the OS after its process died, so a record also keeps the
process's start time (from /proc); `down` never signals a process that merely inherited an
old PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int
    argv: list[str]

    def is_running(self) -> bool:
        ticks = _start_ticks(self.pid)
        return ticks is not None and ticks == self.start_ticks


def _start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot, or None if no such live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited; only its parent has not reaped it yet
        return None
    return int(fields[19])


def record_for(name: str, pid: int, argv: Sequence[str]) -> ProcessRecord:
    ticks = _start_ticks(pid)
    if ticks is None:
        raise ProcessLookupError(f"{name}: process {pid} is not running")
    return ProcessRecord(name=name, pid=pid, start_ticks=ticks, argv=list(argv))


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    """Start `argv` in its own session (so it outlives us and can be signalled as a group)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return record_for(name, proc.pid, argv)


def save(record: ProcessRecord, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(path)


def load(path: Path) -> ProcessRecord | None:
    try:
        return ProcessRecord(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None


def stop(record: ProcessRecord, timeout: float = 15.0) -> bool:
    """SIGTERM the record's process group, then SIGKILL what is left after `timeout` seconds;
    return once no process of the group is alive.

    Returns True if something was running. Only the recorded process (and the group it leads)
    is signalled, and only while its start time still matches the record.
    """
    if not record.is_running():
        return False
    _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _group_alive(record.pid) and time.monotonic() < deadline:
        _reap(record.pid)
        time.sleep(0.05)
    if _group_alive(record.pid):
        _signal_group(record.pid, signal.SIGKILL)
        while _group_alive(record.pid):
            _reap(record.pid)
            time.sleep(0.05)
    _reap(record.pid)
    return True


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is still in process group `pgid`.

    The leader exiting is not enough: its children (a JVM's, a shell's) may outlive it.
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
