"""What the faust worker tests share: the worker as a subprocess, and topics read as they grow."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from schemas.codec import Codec
from schemas.errors import DecodeError

REPO_ROOT = Path(__file__).resolve().parents[3]
WAIT_S = 60.0  # a worker joins its group in tens of seconds
codec = Codec()


def worker_env(
    kafka_bootstrap: str, app_id: str, nodes: list[str], keeper: str, data_dir: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "HYDROGEN_STREAMS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HYDROGEN_STREAMS_APP_ID": app_id,
        "HYDROGEN_STREAMS_NODE_ADDRESSES": ",".join(nodes),
        "HYDROGEN_STREAMS_KEEPER_ADDRESS": keeper,
        "HYDROGEN_STREAMS_NONCE_SECRET": "a test secret of the faust tests",
        "HYDROGEN_STREAMS_WEB_PORT": str(_free_port()),
        "HYDROGEN_STREAMS_DATA_DIR": str(data_dir),
        "HYDROGEN_STREAMS_SESSION_TIMEOUT_SECONDS": "6",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    """`hydrogen streams worker` in a subprocess; its output goes to a log file."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env, self.log_file = env, log_file
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        with self.log_file.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "hydrogen", "streams", "worker", "-l", "info"],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye to the group."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def restart(self) -> None:
        self.process = self._start()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def tail(self) -> str:
        return self.log_file.read_text(errors="replace")[-4000:]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.tail()}")

    def count(self, text: str) -> int:
        return self.log_file.read_text(errors="replace").count(text)

    def wait_log(self, text: str, times: int, timeout: float = WAIT_S) -> None:
        """Until `text` is in the log `times` times (e.g. the n-th rebalance is done)."""
        deadline = time.monotonic() + timeout
        while self.count(text) < times:
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not {times} times in the log:\n{self.tail()}")
            time.sleep(0.2)


class TopicTail:
    """Every message of a topic from offset 0, decoded, read as it arrives."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"faust-test-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",  # what the submitter reads
            }
        )
        parts = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        self.seen: list[tuple[bytes | None, str, dict[str, Any]]] = []

    def wait_for(
        self,
        done: Callable[[list[tuple[bytes | None, str, dict[str, Any]]]], bool],
        worker: Worker,
        what: str,
        timeout: float = WAIT_S,
        missing: Callable[[list[tuple[bytes | None, str, dict[str, Any]]]], object] | None = None,
    ) -> list[tuple[bytes | None, str, dict[str, Any]]]:
        """Read until `done(seen)`; on timeout, fail with `missing(seen)` and the worker log."""
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            worker.check_alive()
            if time.monotonic() > deadline:
                lacking = "" if missing is None else f"; missing {missing(self.seen)}"
                raise AssertionError(
                    f"no {what} within {timeout} s; seen {len(self.seen)}{lacking}; worker log:\n"
                    f"{worker.log_file.read_text(errors='replace')[-20000:]}"
                )
            self._poll_one()
        return self.seen

    def _poll_one(self) -> None:
        msg = self.consumer.poll(0.2)
        if msg is None or msg.error():
            return
        try:
            name, record = codec.decode(msg.value())
        except DecodeError:
            return  # another test's deliberate garbage on the shared topic
        self.seen.append((msg.key(), name, record))

    def drain(self, seconds: float) -> None:
        """Read what arrives during `seconds`."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self._poll_one()

    def close(self) -> None:
        self.consumer.close()
