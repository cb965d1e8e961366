"""The deadline keeper: calls `expire(taskId)` once when a live phase's deadline has passed.

State: one Watch per live task (its phase, the phase's deadline in chain seconds, the last
expire request and its outcome). Inputs:

- TaskDeadline, the part of a task read-model change the keeper needs (`TaskDeadline.of`):
  a new (phase, deadline) replaces the watch; a terminal task drops it;
- Tick(now_ms): time passing;
- TxOutcome of the keeper's own requests.

`decide` asks for `expire` for every watch whose deadline is behind `now_ms` (plus a grace, as
the contract wants `block.timestamp > deadline` and block time lags wall time) and that has no
request yet. Once across restarts comes from two things: the keeper's state records the
request (`evolve` by the RequestTx), and the request id is a function of (chain, task, phase,
deadline), so even a keeper rebuilt from scratch asks with the id the submitter has seen and
drops. A new phase has a new deadline, hence a new id.

A failed expire is retried (with an attempt suffix on the id, on a later Tick, at most
`max_attempts` times) only when a retry can help: DeadlineNotReached (the chain's clock was
behind ours), a revert with no decoded error, REPLACED or EXPIRED. NothingToExpire or
WrongTaskStatus mean somebody else already moved the task on; the chain event that follows
replaces the watch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeAlias

from streams.domain.commands import TASK_MANAGER, RequestTx, call_args, with_attempt
from streams.domain.inputs import Tick, TxOutcome, TxStatus, retry_can_help
from streams.domain.protocol import TaskStatus
from streams.domain.task import TaskState

ORIGIN = "streams.deadline-keeper"
_RETRY_ERRORS = frozenset({"DeadlineNotReached"})


@dataclass(frozen=True)
class KeeperConfig:
    signer: str  # the keeper account; expire may be called by anyone
    grace_ms: int = 2_000
    max_attempts: int = 3
    origin: str = ORIGIN


@dataclass(frozen=True)
class TaskDeadline:
    task_id: str
    chain_id: int
    phase: TaskStatus
    deadline: int | None  # chain seconds; None once the task has ended

    @classmethod
    def of(cls, task: TaskState) -> TaskDeadline | None:
        """The keeper's input for a task read-model change; None before the task is known."""
        if task.chain_id is None:
            return None
        return cls(task.task_id, task.chain_id, task.status, task.deadline)


@dataclass(frozen=True)
class Watch:
    task_id: str
    chain_id: int
    phase: TaskStatus
    deadline: int
    attempt: int = 0  # expire requests made for this (phase, deadline)
    request_id: str | None = None
    outcome: TxStatus | None = None
    error_name: str | None = None

    @property
    def base_request_id(self) -> str:
        return f"{self.chain_id}:{self.task_id}:expire:{self.phase.label}:{self.deadline}"


@dataclass(frozen=True)
class KeeperState:
    watches: tuple[Watch, ...] = ()  # sorted by task id
    version: int = 0

    def watch(self, task_id: str) -> Watch | None:
        return next((w for w in self.watches if w.task_id == task_id), None)


KeeperInput: TypeAlias = TaskDeadline | Tick | TxOutcome


def expire_request_id(chain_id: int, task_id: str, phase: TaskStatus, deadline: int) -> str:
    return Watch(task_id, chain_id, phase, deadline).base_request_id


def decide(
    state: KeeperState, item: KeeperInput, now_ms: int, config: KeeperConfig
) -> list[RequestTx]:
    """Expire requests due now. Retries wait for a Tick, so that time passes between tries."""
    after = evolve(state, item)
    retries = isinstance(item, Tick)
    return [
        _request(w, attempt, now_ms, config)
        for w in after.watches
        if now_ms > w.deadline * 1000 + config.grace_ms
        and (attempt := _next_attempt(w, config, retries)) is not None
    ]


def outstanding(state: KeeperState, now_ms: int, config: KeeperConfig) -> list[RequestTx]:
    """The expire requests `state` records as made and unanswered, with their first ids: what
    a restarted worker sends again (see `streams.domain.saga.outstanding`)."""
    return [
        _request(w, w.attempt, now_ms, config)
        for w in state.watches
        if w.request_id is not None and w.outcome is None
    ]


def evolve(state: KeeperState, item: KeeperInput | RequestTx) -> KeeperState:
    changed = _evolve(state, item)
    return state if changed == state else replace(changed, version=state.version + 1)


def step(
    state: KeeperState, item: KeeperInput, now_ms: int, config: KeeperConfig
) -> tuple[KeeperState, list[RequestTx]]:
    commands = decide(state, item, now_ms, config)
    state = evolve(state, item)
    for command in commands:
        state = evolve(state, command)
    return state, commands


def _evolve(state: KeeperState, item: KeeperInput | RequestTx) -> KeeperState:
    match item:
        case Tick():
            return state
        case TaskDeadline():
            current = state.watch(item.task_id)
            others = tuple(w for w in state.watches if w.task_id != item.task_id)
            if item.phase.terminal or item.deadline is None or item.phase is TaskStatus.NONE:
                return replace(state, watches=others) if current is not None else state
            if current is not None and (current.phase, current.deadline) == (
                item.phase,
                item.deadline,
            ):
                return state
            fresh = Watch(item.task_id, item.chain_id, item.phase, item.deadline)
            return replace(state, watches=tuple(sorted((*others, fresh), key=_order)))
        case TxOutcome():
            return _replace_watch(
                state,
                lambda w: w.request_id == item.request_id and w.outcome is None,
                lambda w: replace(w, outcome=item.status, error_name=item.error_name),
            )
        case RequestTx():
            return _replace_watch(
                state,
                lambda w: _is_attempt_of(item.request_id, w) and item.request_id != w.request_id,
                lambda w: replace(
                    w, attempt=w.attempt + 1, request_id=item.request_id, outcome=None
                ),
            )


def _order(w: Watch) -> tuple[int, str]:
    return (len(w.task_id), w.task_id)  # numeric order for decimal ids


def _replace_watch(
    state: KeeperState, match: Callable[[Watch], bool], change: Callable[[Watch], Watch]
) -> KeeperState:
    watches = tuple(change(w) if match(w) else w for w in state.watches)
    return state if watches == state.watches else replace(state, watches=watches)


def _is_attempt_of(request_id: str, w: Watch) -> bool:
    base = w.base_request_id
    return request_id == base or request_id.startswith(base + ":")


def _next_attempt(w: Watch, config: KeeperConfig, retries: bool) -> int | None:
    if w.attempt == 0:
        return 1
    if (
        retries
        and retry_can_help(w.outcome, w.error_name, _RETRY_ERRORS)
        and w.attempt < config.max_attempts
    ):
        return w.attempt + 1
    return None


def _request(w: Watch, attempt: int, now_ms: int, config: KeeperConfig) -> RequestTx:
    return RequestTx(
        request_id=with_attempt(w.base_request_id, attempt),
        signer=config.signer,
        contract=TASK_MANAGER,
        function="expire",
        args_json=call_args(int(w.task_id)),
        value_wei="0",
        not_after=None,  # an overdue phase stays expirable until somebody expires it
        requested_at=now_ms,
        origin=config.origin,
    )
