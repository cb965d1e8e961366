"""Following a task: one look a poll until it ends, each phase change reported once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hydrogen.app.errors import TaskTimedOut
from hydrogen.app.progress import Observation, Phase, Progress
from hydrogen.app.watcher import watch


class Look:
    """A task view as far as the watcher reads it."""

    def __init__(self, status: str, commits: int = 0, reason: str | None = None) -> None:
        self.status = status
        self._observation = Observation(status, commits, reason)

    def observation(self) -> Observation:
        return self._observation


class FakeChain:
    def __init__(self, looks: list[Look]) -> None:
        self.looks: Iterator[Look] = iter(looks)
        self.last = looks[-1]

    def task(self, task_id: int) -> Look:
        self.last = next(self.looks, self.last)
        return self.last


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_watch_ends_with_the_task_and_reports_each_phase_once() -> None:
    chain = FakeChain(
        [
            Look("Queued"),
            Look("Queued"),
            Look("Running"),
            Look("Running", 2),
            Look("Disclosing", 3),
            Look("Validated", 3),
            Look("Completed", 3),
        ]
    )
    clock = Clock()
    changes: list[tuple[Progress, Progress]] = []
    progress, last = watch(
        chain,
        1,
        timeout_s=60,
        on_change=lambda b, a: changes.append((b, a)),
        poll_s=1.0,
        clock=clock,
        sleep=clock.sleep,
    )
    assert last.status == "Completed"
    assert [s.phase for s in progress.spans] == [
        Phase.QUEUED,
        Phase.RUNNING,
        Phase.COMMIT,
        Phase.REVEAL,
        Phase.VALIDATED,
        Phase.DELIVERED,
    ]
    assert progress.timings() == {
        "queued": 2.0,
        "running": 1.0,
        "commit": 1.0,
        "reveal": 1.0,
        "validated": 1.0,
    }
    assert len(changes) == 6  # one per phase entered, none for the repeated look


def test_the_status_a_task_was_created_in_counts_from_the_origin() -> None:
    clock = Clock()
    progress, _ = watch(
        FakeChain([Look("Completed")]),
        1,
        timeout_s=60,
        origin=clock.now - 3.0,
        first=Observation("Running"),
        clock=clock,
        sleep=clock.sleep,
    )
    assert progress.spans[0].phase is Phase.RUNNING and progress.spans[0].start_s == 0.0
    assert progress.timings()["running"] == 3.0


def test_a_task_that_does_not_end_in_time_is_reported_with_its_status() -> None:
    clock = Clock()
    with pytest.raises(TaskTimedOut, match="task 9 is still Queued after 5s") as timed_out:
        watch(
            FakeChain([Look("Queued")]),
            9,
            timeout_s=4.5,
            poll_s=1.0,
            clock=clock,
            sleep=clock.sleep,
        )
    assert timed_out.value.status == "Queued"
    assert "hydrogen task watch 9" in str(timed_out.value)
