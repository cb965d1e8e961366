"""Which phase a task is in and how long each took: from looks at the chain, and from its
events."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydrogen.app.progress import (
    FORWARD,
    Observation,
    Phase,
    Progress,
    Span,
    advance,
    describe,
    entered_since,
    phase_of,
    summary,
)
from hydrogen.app.task_view import ChainEvent, progress_from_events


def run(*looks: tuple[float, Observation]) -> Progress:
    progress = Progress()
    for now, observation in looks:
        progress = advance(progress, observation, now)
    return progress


@pytest.mark.parametrize(
    ("observation", "phase"),
    [
        (Observation("Queued"), Phase.QUEUED),
        (Observation("Running"), Phase.RUNNING),
        (Observation("Running", commits=1), Phase.COMMIT),
        (Observation("Disclosing", commits=3), Phase.REVEAL),
        (Observation("Validated", commits=3), Phase.VALIDATED),
        (Observation("Completed", commits=3), Phase.DELIVERED),
        (Observation("Aborted", abort_reason="NoConsensus"), Phase.ABORTED),
        (Observation("Cancelled"), Phase.CANCELLED),
    ],
)
def test_each_chain_status_is_a_phase(observation: Observation, phase: Phase) -> None:
    assert phase_of(observation) is phase


def test_a_status_that_no_task_has_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'None'"):
        phase_of(Observation("None"))


def test_a_task_seen_in_every_phase_has_each_phase_timed() -> None:
    progress = run(
        (0.0, Observation("Queued")),
        (0.5, Observation("Queued")),
        (1.0, Observation("Running")),
        (3.0, Observation("Running", commits=1)),
        (3.5, Observation("Running", commits=2)),
        (4.0, Observation("Disclosing", commits=3)),
        (4.75, Observation("Validated", commits=3)),
        (6.0, Observation("Completed", commits=3)),
    )
    assert [s.phase for s in progress.spans] == list(FORWARD)
    assert progress.timings() == {
        "queued": 1.0,
        "running": 2.0,
        "commit": 1.0,
        "reveal": 0.75,
        "validated": 1.25,
    }
    assert progress.ended and not progress.failed
    assert all(s.seen for s in progress.spans)


def test_phases_passed_between_two_looks_are_listed_unseen_with_no_time() -> None:
    progress = run((0.0, Observation("Queued")), (2.0, Observation("Validated")))
    assert [s.phase for s in progress.spans] == [
        Phase.QUEUED,
        Phase.RUNNING,
        Phase.COMMIT,
        Phase.REVEAL,
        Phase.VALIDATED,
    ]
    skipped = progress.spans[1:4]
    assert all(not s.seen and s.duration_s == 0 for s in skipped)
    assert progress.spans[0].duration_s == 2.0
    assert progress.spans[-1].end_s is None  # validated: still in it


def test_a_lagging_look_never_moves_a_task_back() -> None:
    progress = run(
        (0.0, Observation("Running", commits=1)),
        (1.0, Observation("Running")),  # a read model one block behind
        (2.0, Observation("Queued")),
    )
    assert [s.phase for s in progress.spans] == [Phase.COMMIT]
    assert progress.spans[0].end_s is None


def test_the_first_look_starts_where_the_task_is_without_inventing_earlier_phases() -> None:
    progress = run((5.0, Observation("Disclosing", commits=3)))
    assert [s.phase for s in progress.spans] == [Phase.REVEAL]
    assert progress.spans[0].start_s == 5.0


def test_an_aborted_task_ends_with_its_reason_and_nothing_after_counts() -> None:
    progress = run(
        (0.0, Observation("Running")),
        (4.0, Observation("Aborted", abort_reason="Timeout")),
        (5.0, Observation("Completed")),
    )
    assert [s.phase for s in progress.spans] == [Phase.RUNNING, Phase.ABORTED]
    assert progress.failed and progress.ended
    assert progress.reason == "Timeout"
    assert progress.timings() == {"running": 4.0}
    assert summary(progress) == "running 4.0s · aborted (Timeout)"


def test_a_cancelled_queued_task_fails() -> None:
    progress = run((0.0, Observation("Queued")), (1.5, Observation("Cancelled")))
    assert progress.phase is Phase.CANCELLED and progress.failed
    assert progress.timings() == {"queued": 1.5}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["Queued", "Running", "Disclosing", "Validated", "Completed", "Aborted"]
            ),
            st.integers(0, 3),
            st.floats(0, 10),
        ),
        max_size=12,
    )
)
def test_whatever_the_looks_the_phases_only_go_forward_and_times_do_not_overlap(
    looks: list[tuple[str, int, float]],
) -> None:
    progress = Progress()
    now = 0.0
    for status, commits, step in looks:
        now += step
        progress = advance(progress, Observation(status, commits), now)
    phases = [s.phase for s in progress.spans]
    forward = [p for p in phases if p in FORWARD]
    assert forward == sorted(forward, key=FORWARD.index)
    assert len(set(phases)) == len(phases)
    for a, b in zip(progress.spans, progress.spans[1:], strict=False):
        assert a.end_s is not None and a.end_s <= b.start_s
    assert all(d >= 0 for d in progress.timings().values())


def test_lines_say_the_phase_entered_and_how_long_the_last_one_took() -> None:
    before = run((0.0, Observation("Queued")))
    after = advance(before, Observation("Running"), 1.25)
    (entered,) = entered_since(before, after)
    assert describe(entered, after.spans[0]) == "running    (queued took 1.2s)"
    assert describe(Span(Phase.COMMIT, 2.0, 2.0, seen=False), None) == (
        "commit     (passed between looks)"
    )
    assert describe(Span(Phase.ABORTED, 3.0, 3.0), after.spans[1], "NoConsensus") == (
        "aborted    NoConsensus"
    )


def test_the_summary_shows_every_phase_in_order() -> None:
    progress = run(
        (0.0, Observation("Queued")),
        (1.0, Observation("Disclosing", commits=3)),
        (2.5, Observation("Completed")),
    )
    assert summary(progress) == (
        "queued 1.0s · running - · commit - · reveal 1.5s · validated - · delivered"
    )


def event(name: str, block: int, time: int, **args: object) -> ChainEvent:
    return ChainEvent(name, f"0x{block:064x}", block, 0, time, args)


def test_a_task_nobody_watched_is_timed_by_the_blocks_of_its_events() -> None:
    events = [
        event("TaskCreated", 10, 100),
        event("TaskQueued", 10, 100),
        event("TaskStarted", 12, 103),
        event("NodeSelected", 12, 103),
        event("CommitmentSubmitted", 14, 110, node="0xa"),
        event("CommitmentSubmitted", 15, 111, node="0xb"),
        event("DisclosureOpened", 16, 112),
        event("TaskValidated", 19, 114),
        event("TaskCompleted", 20, 117),
    ]
    progress = progress_from_events(list(reversed(events)))  # any order: sorted by block
    assert [s.phase for s in progress.spans] == list(FORWARD)
    assert progress.timings() == {
        "queued": 3.0,
        "running": 7.0,
        "commit": 2.0,
        "reveal": 2.0,
        "validated": 3.0,
    }


def test_an_aborted_event_names_its_reason() -> None:
    events = [
        event("TaskCreated", 1, 50),
        event("TaskStarted", 1, 50),
        event("TaskAborted", 4, 80, reason=2),
    ]
    progress = progress_from_events(events)
    assert progress.phase is Phase.ABORTED
    assert progress.reason == "NoConsensus"
    assert progress.timings() == {"running": 30.0}
