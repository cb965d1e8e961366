"""What the consumer needs from the outside world, as small protocols.

The relay adapter (`inference.relay`) implements both with the relay's HTTP client; unit tests
pass in-memory fakes. Each call is made as a node: the implementation signs with that node's
key, since only a task's nodes may read its arguments or stage its results.
"""

from __future__ import annotations

from typing import Protocol

from inference.outputs import EngineOutput
from schemas.task_args import TaskArgs


class ArgsSource(Protocol):
    def fetch_args(self, task_id: str, node: str) -> bytes:
        """The task's arguments as stored on the relay; raises ArgsUnavailable."""
        ...


class ResultSink(Protocol):
    def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
        """Upload result blob `index` of `node`; returns its reference (sha256 hex)."""
        ...


class Runner(Protocol):
    def run(self, args: TaskArgs) -> EngineOutput:
        """Run the task; raises InferenceError or TaskArgsInvalid."""
        ...
