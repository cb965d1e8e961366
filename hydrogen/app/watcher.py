"""Follows a task on chain, one `getTask` a poll, until it ends or the time runs out.

The chain is the authority on a task's phase and the only place its commitments show, so it
is read directly; the relay's read model follows it a moment later. Clock and sleep come in as
arguments, so the loop runs in tests without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from hydrogen.app.errors import TaskTimedOut
from hydrogen.app.progress import Observation, Progress, advance

POLL_S = 0.25

OnChange = Callable[[Progress, Progress], None]


class Looked(Protocol):
    """What one look at a task gives (a `TaskView`)."""

    @property
    def status(self) -> str: ...

    def observation(self) -> Observation: ...


View_co = TypeVar("View_co", bound=Looked, covariant=True)
View = TypeVar("View", bound=Looked)


class TaskReader(Protocol[View_co]):
    """Where a task is looked at (an `AppChain`)."""

    def task(self, task_id: int) -> View_co: ...


def watch(
    chain: TaskReader[View],
    task_id: int,
    *,
    timeout_s: float,
    on_change: OnChange = lambda _before, _after: None,
    origin: float | None = None,
    first: Observation | None = None,
    poll_s: float = POLL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Progress, View]:
    """The task's progress once it has ended, and its last view. Times are seconds since
    `origin` on `clock` (default: now); `first` is what was known at `origin` (the status a
    task was created in). Raises TaskTimedOut after `timeout_s`."""
    started = clock()
    origin = started if origin is None else origin
    progress = Progress()
    if first is not None:
        progress = advance(progress, first, 0.0)
        on_change(Progress(), progress)
    while True:
        view = chain.task(task_id)
        before = progress
        progress = advance(progress, view.observation(), clock() - origin)
        if progress is not before:
            on_change(before, progress)
        if progress.ended:
            return progress, view
        if clock() - started > timeout_s:
            raise TaskTimedOut(task_id, view.status, clock() - started)
        sleep(poll_s)
