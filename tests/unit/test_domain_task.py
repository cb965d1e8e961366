"""The task read model: every (status, event kind) pair of TRANSITIONS, a whole task folded
from its records, duplicates, and reorg retractions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from test_domain_records import ARGS_HASH, CHAIN_ID, CREATOR, NODES, T0, Chain

from streams.domain.errors import TransitionRejected, WrongTask
from streams.domain.events import TaskEvent, parse
from streams.domain.protocol import AbortReason, Fault, TaskStatus, TaskType
from streams.domain.task import Member, TaskState, evolve, replay
from streams.domain.transitions import TASK_EVENT_KINDS, TRANSITIONS

S = TaskStatus

# Record names of the task events, in the order a chain emits them, to reach each status.
_RUNNING = ["TaskCreated", "NodeSelected", "NodeSelected", "NodeSelected", "TaskStarted"]
_PREFIXES: dict[TaskStatus, list[str]] = {
    S.NONE: ["TaskCreated"],
    S.QUEUED: ["TaskCreated", "TaskQueued"],
    S.RUNNING: _RUNNING,
    S.DISCLOSING: [*_RUNNING, "CommitmentSubmitted", "DisclosureOpened"],
    S.VALIDATED: [*_RUNNING, "CommitmentSubmitted", "DisclosureOpened", "TaskValidated"],
    S.COMPLETED: [
        *_RUNNING,
        "CommitmentSubmitted",
        "DisclosureOpened",
        "TaskValidated",
        "TaskCompleted",
    ],
    S.ABORTED: ["TaskCreated", "TaskQueued", "TaskAborted"],
    S.CANCELLED: ["TaskCreated", "TaskQueued", "TaskCancelled"],
}


def _fields(name: str, n: int) -> dict[str, Any]:
    if name == "NodeSelected":
        return {"node": NODES[n % 3], "slot": n % 3}
    return {}


def task_in(status: TaskStatus) -> tuple[TaskState, Chain]:
    chain = Chain()
    state = TaskState("1")
    for n, name in enumerate(_PREFIXES[status]):
        state = evolve(state, chain.task_event(name, **_fields(name, n - 1)))
    assert state.status is status
    return state, chain


PAIRS = [(status, kind) for status in TaskStatus for kind in TASK_EVENT_KINDS]


@pytest.mark.parametrize(
    ("status", "kind"), PAIRS, ids=[f"{s.label}-{k.__name__}" for s, k in PAIRS]
)
def test_every_status_and_event_kind(status: TaskStatus, kind: type[TaskEvent]) -> None:
    state, chain = task_in(status)
    fields = {"phase": int(status)} if kind.__name__ == "TaskExpired" else {}
    event = chain.mine().task_event(kind.__name__, **fields)
    expected = TRANSITIONS.get((status, kind))
    if expected is None:
        with pytest.raises(TransitionRejected, match=f"{kind.__name__} cannot happen in status"):
            evolve(state, event)
    else:
        after = evolve(state, event)
        assert after.status is expected
        assert after.version == state.version + 1
        assert after.position == event.meta.position


def test_terminal_statuses_allow_nothing() -> None:
    for status in (S.COMPLETED, S.ABORTED, S.CANCELLED):
        assert not [k for (s, k) in TRANSITIONS if s is status]


def test_a_whole_task_folds_to_its_read_model() -> None:
    c = Chain("7")
    nodes = list(NODES)
    records: list[tuple[str, dict[str, Any]]] = [
        ("TaskCreated", c.record("TaskCreated", task_type=1, model_ids=["qwen"], fee="3000")),
        ("TaskQueued", c.record("TaskQueued")),
    ]
    c.mine(30)
    for slot, node in enumerate(nodes):
        records.append(("NodeSelected", c.record("NodeSelected", node=node, slot=slot)))
    records.append(("TaskStarted", c.record("TaskStarted", commit_deadline=T0 + 330)))
    for order, node in enumerate(nodes, start=1):
        c.mine()
        commitment = bytes([order]) * 32
        records.append(
            (
                "CommitmentSubmitted",
                c.record(
                    "CommitmentSubmitted", node=node, commitment=commitment, commit_order=order
                ),
            )
        )
    records.append(("DisclosureOpened", c.record("DisclosureOpened", disclose_deadline=T0 + 500)))
    good, bad = b"\x42" * 32, b"\x13" * 32
    for node, result in zip(nodes, (good, good, bad), strict=True):
        c.mine()
        records.append(("ResultDisclosed", c.record("ResultDisclosed", node=node, result=result)))
    records += [
        ("NodePenalized", c.record("NodePenalized", node=nodes[2], fault=0, amount=str(10**18))),
        (
            "TaskValidated",
            c.record(
                "TaskValidated",
                result_node=nodes[0],
                result=good,
                agreeing_nodes=nodes[:2],
                upload_deadline=T0 + 900,
            ),
        ),
    ]
    c.mine()
    records.append(
        (
            "TaskCompleted",
            c.record(
                "TaskCompleted", result_node=nodes[0], nodes=nodes[:2], payouts=["1501", "1499"]
            ),
        )
    )
    state = replay("7", [parse(name, rec) for name, rec in records])  # type: ignore[misc]

    assert state.status is S.COMPLETED
    assert state.task_type is TaskType.LLM
    assert state.creator == CREATOR
    assert state.args_hash == ARGS_HASH
    assert state.chain_id == CHAIN_ID
    assert state.fee == 3000
    assert state.nodes == tuple(nodes)
    assert state.members[0] == Member(
        nodes[0], 0, b"\x01" * 32, 1, good, 0, None, 0, 1501, active=False
    )
    assert state.members[2].fault is Fault.OUTVOTED
    assert state.members[2].penalty == 10**18
    assert state.members[2].payout == 0
    assert state.result == good
    assert state.result_node == nodes[0]
    assert state.agreeing_nodes == tuple(nodes[:2])
    assert state.deadline is None
    assert state.times.created == T0 * 1000
    assert state.times.started == (T0 + 30) * 1000
    assert state.times.disclosing == (T0 + 66) * 1000
    assert state.times.validated == (T0 + 102) * 1000
    assert state.times.ended == (T0 + 114) * 1000
    assert state.version == len(records)


def test_a_redelivered_event_changes_nothing() -> None:
    state, chain = task_in(S.RUNNING)
    event = chain.mine().task_event("CommitmentSubmitted")
    once = evolve(state, event)
    assert evolve(once, event) is once


def test_an_event_older_than_the_last_applied_changes_nothing() -> None:
    state, chain = task_in(S.RUNNING)
    old = chain.task_event("CommitmentSubmitted")
    newer = chain.mine().task_event("CommitmentSubmitted", node=NODES[1], commit_order=1)
    after = evolve(state, newer)
    assert evolve(after, old) is after


def test_an_event_of_another_task_is_refused() -> None:
    state, _ = task_in(S.QUEUED)
    with pytest.raises(WrongTask, match="of task 8, not 1"):
        evolve(state, Chain("8").mine(60).task_event("TaskCancelled"))


def test_a_commitment_of_an_unselected_node_is_rejected() -> None:
    state, chain = task_in(S.RUNNING)
    stranger = "0x4444444444444444444444444444444444444444"
    with pytest.raises(TransitionRejected, match=stranger):
        evolve(state, chain.mine().task_event("CommitmentSubmitted", node=stranger))


def test_task_expired_must_name_the_current_phase() -> None:
    state, chain = task_in(S.RUNNING)
    with pytest.raises(TransitionRejected, match="phase Disclosing while the task is Running"):
        evolve(state, chain.mine().task_event("TaskExpired", phase=3))


def test_a_delivery_reassignment_keeps_the_task_validated_with_a_new_deadline() -> None:
    state, chain = task_in(S.VALIDATED)
    state = evolve(state, chain.mine(300).task_event("TaskExpired", phase=4, deadline=T0 + 720))
    state = evolve(state, chain.task_event("NodePenalized", node=NODES[0], fault=3, amount="50"))
    state = evolve(state, chain.task_event("DeliveryReassigned"))
    assert state.status is S.VALIDATED
    assert state.result_node == NODES[1]
    assert state.deadline == T0 + 1020
    assert state.member(NODES[0]) is not None
    assert state.member(NODES[0]).fault is Fault.MISSED_UPLOAD  # type: ignore[union-attr]
    assert state.expirations == ((S.VALIDATED, T0 + 720),)


def test_an_abort_records_reason_refund_and_frees_every_member() -> None:
    state, chain = task_in(S.RUNNING)
    state = evolve(state, chain.mine(300).task_event("TaskExpired", phase=2))
    state = evolve(state, chain.task_event("TaskAborted", reason=1, refund="3000"))
    assert (state.status, state.abort_reason, state.refund) == (
        S.ABORTED,
        AbortReason.TIMEOUT,
        3000,
    )
    assert not any(m.active for m in state.members)


def test_a_retraction_rebuilds_from_the_remaining_events() -> None:
    state, chain = task_in(S.RUNNING)
    before = state
    commit = chain.mine().task_event("CommitmentSubmitted")
    state = evolve(state, commit)
    retracted = evolve(state, chain.retraction(commit))
    assert retracted.member(NODES[0]) == before.member(NODES[0])
    assert retracted.position == before.position
    assert retracted.history == before.history
    assert retracted.version == state.version + 1


def test_a_late_copy_of_a_retracted_event_is_dropped_but_a_remined_one_applies() -> None:
    state, chain = task_in(S.RUNNING)
    commit = chain.mine().task_event("CommitmentSubmitted")
    state = evolve(evolve(state, commit), chain.retraction(commit))
    assert evolve(state, commit) is state
    remined = replace(commit, meta=replace(commit.meta, block_hash="0xnew", block_number=150))
    assert evolve(state, remined).member(NODES[0]).commitment == b"\xaa" * 32  # type: ignore[union-attr]


def test_a_retraction_of_an_unknown_event_changes_nothing() -> None:
    state, chain = task_in(S.RUNNING)
    other = Chain("1").mine(999).task_event("TaskQueued")
    assert evolve(state, chain.retraction(other)) is state


def test_a_retraction_can_take_a_task_out_of_a_terminal_status() -> None:
    state, chain = task_in(S.QUEUED)
    cancel = chain.mine().task_event("TaskCancelled")
    state = evolve(state, cancel)
    assert evolve(state, chain.retraction(cancel)).status is S.QUEUED
