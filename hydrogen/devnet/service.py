"""What every devnet service offers the supervisor: start, health, stop, where it listens."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydrogen.devnet import process
from hydrogen.devnet.layout import Layout


class DevnetError(RuntimeError):
    """A devnet service could not be set up, started or reached."""


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


class Service(ABC):
    name: str

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    @property
    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    def start(self) -> None:
        """Start the service if it is not running; return without waiting for it."""

    @abstractmethod
    def health(self) -> Health: ...

    @abstractmethod
    def stop(self) -> bool:
        """Stop what this devnet started; True if something was running."""

    @abstractmethod
    def pid(self) -> int | None: ...

    def wait_healthy(self, timeout: float) -> Health:
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            if health.ok:
                return health
            if not self.is_running():
                raise DevnetError(
                    f"{self.name} exited while starting: {health.detail}; "
                    f"see {self.layout.log(self.name)}"
                )
            if time.monotonic() > deadline:
                raise DevnetError(
                    f"{self.name} not healthy after {timeout:.0f}s: {health.detail}; "
                    f"see {self.layout.log(self.name)}"
                )
            time.sleep(0.2)

    def is_running(self) -> bool:
        return self.pid() is not None

    def prepare(self) -> None:  # noqa: B027  (most services need no setup)
        """One-time setup after the service is healthy (topics, schema, bucket...)."""


class ProcessService(Service):
    """A service that is one long-running program we spawn and stop by PID."""

    @abstractmethod
    def argv(self) -> Sequence[str]: ...

    def env(self) -> dict[str, str] | None:
        return None

    def before_first_start(self) -> None:
        """Create data folders or format storage; called while the service is stopped."""

    @property
    def _pid_file(self) -> Path:
        return self.layout.pid(self.name)

    def _record(self) -> process.ProcessRecord | None:
        record = process.load(self._pid_file)
        return record if record is not None and record.is_running() else None

    def pid(self) -> int | None:
        record = self._record()
        return record.pid if record else None

    def start(self) -> None:
        if self._record() is not None:
            return
        self.before_first_start()
        record = process.spawn(self.name, self.argv(), self.layout.log(self.name), env=self.env())
        process.save(record, self._pid_file)

    def stop(self) -> bool:
        record = process.load(self._pid_file)
        if record is None:
            return False
        stopped = process.stop(record)
        self._pid_file.unlink(missing_ok=True)
        return stopped
