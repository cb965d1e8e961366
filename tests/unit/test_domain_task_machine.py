"""Stateful properties of the task read model, over random walks through TRANSITIONS mixed
with redeliveries, stale events, impossible events and reorg retractions."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from test_domain_records import NODES, Chain

from streams.domain.errors import TransitionRejected
from streams.domain.events import LogRetracted, TaskEvent
from streams.domain.task import TaskState, evolve, replay
from streams.domain.transitions import TASK_EVENT_KINDS, TRANSITIONS


class TaskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.chain = Chain()
        self.state = TaskState("1")
        self.inputs: list[TaskEvent | LogRetracted] = []  # everything evolve accepted or dropped

    def _fields(self, kind: type[TaskEvent], n: int) -> dict[str, Any]:
        node = NODES[n % 3]
        fields: dict[str, Any] = {}
        if kind.__name__ == "NodeSelected":
            fields = {"node": node, "slot": n % 3}
        elif kind.__name__ in ("CommitmentSubmitted", "ResultDisclosed", "NodePenalized"):
            fields = {"node": node}
        elif kind.__name__ == "TaskExpired":
            fields = {"phase": int(self.state.status)}
        return fields

    def _feed(self, event: TaskEvent | LogRetracted) -> TaskState:
        before = self.state
        try:
            after = evolve(before, event)
        except TransitionRejected:
            return before
        self.inputs.append(event)
        if after is not before:
            assert after.version == before.version + 1
        if before.status.terminal and not isinstance(event, LogRetracted):
            assert after.status is before.status  # terminal statuses absorb
        self.state = after
        return after

    @rule(kind=st.sampled_from(TASK_EVENT_KINDS), n=st.integers(0, 2), new_block=st.booleans())
    def any_event(self, kind: type[TaskEvent], n: int, new_block: bool) -> None:
        if new_block:
            self.chain.mine()
        event = self.chain.task_event(kind.__name__, **self._fields(kind, n))
        before = self.state
        if self._feed(event) is not before:
            assert (before.status, kind) in TRANSITIONS  # nothing outside the table moves it

    @rule(n=st.integers(0, 2), pick=st.integers(0, 100))
    def allowed_event(self, n: int, pick: int) -> None:
        kinds = [k for (s, k) in TRANSITIONS if s is self.state.status]
        if not kinds:
            return
        self.chain.mine()
        kind = kinds[pick % len(kinds)]
        before = self.state
        after = self._feed(self.chain.task_event(kind.__name__, **self._fields(kind, n)))
        if after is not before:
            assert after.status is TRANSITIONS[(before.status, kind)]

    @precondition(lambda self: self.state.history)
    @rule(pick=st.integers(0, 1000))
    def redeliver(self, pick: int) -> None:
        old = self.state.history[pick % len(self.state.history)]
        before = self.state
        assert self._feed(old) is before

    @precondition(lambda self: self.state.history)
    @rule()
    def retract_newest(self) -> None:
        newest = self.state.history[-1]
        before = self.state
        after = self._feed(self.chain.retraction(newest))
        assert after.version == before.version + 1
        assert after.history == before.history[:-1]
        assert self._feed(newest) is after  # the late copy from the dropped block

    @invariant()
    def replay_reproduces_the_state(self) -> None:
        assert replay("1", self.inputs) == self.state

    @invariant()
    def version_counts_what_was_applied(self) -> None:
        assert self.state.version >= len(self.state.history)


TaskMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_task_read_model_properties = TaskMachine.TestCase
