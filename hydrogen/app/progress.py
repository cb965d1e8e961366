"""Which phase a task is in, and how long each phase took, from what an app observes.

Pure: observations and times (seconds on any clock the caller picks) come in as arguments.

    queued -> running -> commit -> reveal -> validated -> delivered      or aborted / cancelled

`running` is the selected nodes computing; `commit` starts with the first commitment on chain;
`reveal` is the chain's Disclosing; `delivered` is Completed (the relay confirmed the upload).
Reads may lag one another (a relay's read model behind the chain), so a phase older than the
current one is ignored: a task never goes back. Phases a task passed between two looks are
recorded with no duration and marked unseen, so the list is always the whole way taken.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class Phase(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMMIT = "commit"
    REVEAL = "reveal"
    VALIDATED = "validated"
    DELIVERED = "delivered"
    ABORTED = "aborted"
    CANCELLED = "cancelled"


FORWARD = (
    Phase.QUEUED,
    Phase.RUNNING,
    Phase.COMMIT,
    Phase.REVEAL,
    Phase.VALIDATED,
    Phase.DELIVERED,
)
TERMINAL = frozenset({Phase.DELIVERED, Phase.ABORTED, Phase.CANCELLED})
FAILED = frozenset({Phase.ABORTED, Phase.CANCELLED})

_BY_STATUS = {
    "Queued": Phase.QUEUED,
    "Running": Phase.RUNNING,
    "Disclosing": Phase.REVEAL,
    "Validated": Phase.VALIDATED,
    "Completed": Phase.DELIVERED,
    "Aborted": Phase.ABORTED,
    "Cancelled": Phase.CANCELLED,
}


@dataclass(frozen=True)
class Observation:
    """One look at a task: its chain status (`TaskStatus` name) and commitments so far."""

    status: str
    commits: int = 0
    abort_reason: str | None = None


def phase_of(observation: Observation) -> Phase:
    """The phase an observation shows; ValueError for a status no task is in."""
    phase = _BY_STATUS.get(observation.status)
    if phase is None:
        known = ", ".join(_BY_STATUS)
        raise ValueError(f"no phase for task status {observation.status!r} (known: {known})")
    if phase is Phase.RUNNING and observation.commits > 0:
        return Phase.COMMIT
    return phase


@dataclass(frozen=True)
class Span:
    """A phase, from when it was first seen to when the next one was (None: still in it)."""

    phase: Phase
    start_s: float
    end_s: float | None = None
    seen: bool = True  # False: passed between two looks

    @property
    def duration_s(self) -> float | None:
        return None if self.end_s is None else self.end_s - self.start_s


@dataclass(frozen=True)
class Progress:
    spans: tuple[Span, ...] = ()
    reason: str | None = None  # why an aborted or cancelled task ended

    @property
    def phase(self) -> Phase | None:
        return self.spans[-1].phase if self.spans else None

    @property
    def ended(self) -> bool:
        return self.phase in TERMINAL

    @property
    def failed(self) -> bool:
        return self.phase in FAILED

    def timings(self) -> dict[str, float]:
        """Seconds spent in each phase that is over (terminal phases take no time)."""
        return {
            str(s.phase): round(s.duration_s, 3)
            for s in self.spans
            if s.duration_s is not None and s.phase not in TERMINAL
        }


def advance(progress: Progress, observation: Observation, now_s: float) -> Progress:
    """The progress after one more look at the task, at `now_s`."""
    phase = phase_of(observation)
    current = progress.phase
    if progress.ended or phase == current:
        return progress
    if phase in FAILED:
        closed = _close(progress, now_s, [])
        ended = Span(phase, now_s, now_s)
        return replace(closed, spans=(*closed.spans, ended), reason=observation.abort_reason)
    if current is not None and current not in FAILED:
        if FORWARD.index(phase) < FORWARD.index(current):
            return progress  # a lagging read
        skipped = list(FORWARD[FORWARD.index(current) + 1 : FORWARD.index(phase)])
    else:
        skipped = []
    entered = Span(phase, now_s, now_s if phase in TERMINAL else None)
    return replace(progress, spans=(*_close(progress, now_s, skipped).spans, entered))


def _close(progress: Progress, now_s: float, skipped: list[Phase]) -> Progress:
    """The current phase ended at `now_s`, followed by `skipped` phases of no duration."""
    spans = list(progress.spans)
    if spans and spans[-1].end_s is None:
        spans[-1] = replace(spans[-1], end_s=now_s)
    spans += [Span(p, now_s, now_s, seen=False) for p in skipped]
    return replace(progress, spans=tuple(spans))


def entered_since(before: Progress, after: Progress) -> tuple[Span, ...]:
    """The phases `after` entered that `before` had not."""
    return after.spans[len(before.spans) :]


def describe(span: Span, previous: Span | None, reason: str | None = None) -> str:
    """One line for a phase just entered: `running    (queued took 1.2s)`."""
    line = f"{span.phase:<10}"
    if not span.seen:
        return line + " (passed between looks)"
    if span.phase in FAILED and reason:
        line += f" {reason}"
    if previous is not None and previous.seen and previous.duration_s is not None:
        line += f" ({previous.phase} took {previous.duration_s:.1f}s)"
    return line.rstrip()


def summary(progress: Progress) -> str:
    """The whole way in one line: `queued 0.4s · running 2.0s · ... · delivered`."""
    parts = []
    for span in progress.spans:
        if span.phase in TERMINAL:
            reason = f" ({progress.reason})" if span.phase in FAILED and progress.reason else ""
            parts.append(f"{span.phase}{reason}")
        elif span.duration_s is None:
            parts.append(f"{span.phase} (now)")
        elif not span.seen:
            parts.append(f"{span.phase} -")
        else:
            parts.append(f"{span.phase} {span.duration_s:.1f}s")
    return " · ".join(parts)
