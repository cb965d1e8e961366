"""The e2e tests' way to run the CLI as a user does, and a devnet folder of their own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydrogen.devnet.layout import DevnetState, Layout, Ports

REPO_ROOT = Path(__file__).resolve().parents[2]


def hydrogen(
    *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "hydrogen", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"hydrogen {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return proc


@contextmanager
def fresh_devnet_dir() -> Iterator[Path]:
    """A devnet folder on free ports, brought down and deleted at the end."""
    # Under the repository, not /tmp: PostgreSQL runs as its own user and must reach it.
    root = REPO_ROOT / f".devnet-e2e-{uuid.uuid4().hex[:8]}"
    Layout(root).write_state(DevnetState(ports=Ports.free(), s3=False))
    try:
        yield root
    finally:
        hydrogen("devnet", "down", "--dir", str(root), check=False)
        shutil.rmtree(root, ignore_errors=True)
