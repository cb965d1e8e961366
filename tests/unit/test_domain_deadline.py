"""The deadline keeper: one expire per (task, phase, deadline), across restarts."""

from __future__ import annotations

import json

from test_domain_records import CHAIN_ID, T0

from streams.domain.deadline import (
    KeeperConfig,
    KeeperState,
    TaskDeadline,
    decide,
    evolve,
    outstanding,
    step,
)
from streams.domain.inputs import Tick, TxOutcome, TxStatus
from streams.domain.protocol import TaskStatus
from streams.domain.task import TaskState

KEEPER = "0x8888888888888888888888888888888888888888"
CONFIG = KeeperConfig(signer=KEEPER, grace_ms=1000)
RUNNING = TaskDeadline("5", CHAIN_ID, TaskStatus.RUNNING, T0 + 300)
DUE = (T0 + 302) * 1000
EXPIRE_ID = f"{CHAIN_ID}:5:expire:Running:{T0 + 300}"


def watching() -> KeeperState:
    state, commands = step(KeeperState(), RUNNING, T0 * 1000, CONFIG)
    assert commands == []
    return state


def test_nothing_is_asked_before_the_deadline_and_grace() -> None:
    assert decide(watching(), Tick((T0 + 301) * 1000), (T0 + 301) * 1000, CONFIG) == []


def test_a_passed_deadline_asks_for_expire_once() -> None:
    state, (request,) = step(watching(), Tick(DUE), DUE, CONFIG)
    assert request.request_id == EXPIRE_ID
    assert (request.signer, request.function, json.loads(request.args_json)) == (
        KEEPER,
        "expire",
        ["5"],
    )
    assert request.to_record()["not_after"] is None
    later = DUE + 60_000
    assert step(state, Tick(later), later, CONFIG)[1] == []


def test_a_rebuilt_keeper_asks_again_with_the_same_id() -> None:
    _, (first,) = step(watching(), Tick(DUE), DUE, CONFIG)
    _, (again,) = step(watching(), Tick(DUE + 5000), DUE + 5000, CONFIG)
    assert again.request_id == first.request_id  # the submitter drops it


def test_a_new_phase_gets_its_own_request() -> None:
    state, _ = step(watching(), Tick(DUE), DUE, CONFIG)
    disclosing = TaskDeadline("5", CHAIN_ID, TaskStatus.DISCLOSING, T0 + 420)
    state, _ = step(state, disclosing, DUE, CONFIG)
    due = (T0 + 422) * 1000
    _, (request,) = step(state, Tick(due), due, CONFIG)
    assert request.request_id == f"{CHAIN_ID}:5:expire:Disclosing:{T0 + 420}"


def test_an_ended_task_is_no_longer_watched() -> None:
    state = evolve(watching(), TaskDeadline("5", CHAIN_ID, TaskStatus.COMPLETED, None))
    assert state.watches == ()
    assert decide(state, Tick(DUE), DUE, CONFIG) == []


def test_deadline_not_reached_is_retried_on_a_later_tick() -> None:
    state, (first,) = step(watching(), Tick(DUE), DUE, CONFIG)
    outcome = TxOutcome(first.request_id, TxStatus.REVERTED, error_name="DeadlineNotReached")
    state, commands = step(state, outcome, DUE + 1, CONFIG)
    assert commands == []  # not at once: time must pass
    state, (retry,) = step(state, Tick(DUE + 5000), DUE + 5000, CONFIG)
    assert retry.request_id == EXPIRE_ID + ":2"


def test_nothing_to_expire_is_not_retried() -> None:
    state, (first,) = step(watching(), Tick(DUE), DUE, CONFIG)
    outcome = TxOutcome(first.request_id, TxStatus.REVERTED, error_name="NothingToExpire")
    state, _ = step(state, outcome, DUE + 1, CONFIG)
    assert step(state, Tick(DUE + 5000), DUE + 5000, CONFIG)[1] == []


def test_the_keeper_input_comes_from_the_task_read_model() -> None:
    task = TaskState("5", chain_id=CHAIN_ID, status=TaskStatus.RUNNING, deadline=T0 + 300)
    assert TaskDeadline.of(task) == RUNNING
    assert TaskDeadline.of(TaskState("5")) is None


def test_outstanding_resends_an_unanswered_expire_with_its_id() -> None:
    assert outstanding(watching(), DUE, CONFIG) == []  # nothing asked yet
    state, (request,) = step(watching(), Tick(DUE), DUE, CONFIG)
    (again,) = outstanding(state, DUE + 9000, CONFIG)
    assert (again.request_id, again.args_json) == (request.request_id, request.args_json)
    answered = evolve(state, TxOutcome(request.request_id, TxStatus.MINED))
    assert outstanding(answered, DUE + 9000, CONFIG) == []
