"""The node saga: our nodes' part of a task's commit-reveal, as pure decide/evolve.

One SagaState per task (the faust table is keyed by task id, like `chain.task-events` and
`inference.results`; tx outcomes are routed by the task id inside their request id). The saga
folds the task's chain events into its own copy of the task read model and, for each of OUR
nodes (SagaConfig.nodes) that the task selected, keeps a Duty: the inference job asked for,
the result and nonce, and the commit / disclose requests with their outcomes.

`decide(state, input, now_ms, config)` is a reconciliation: it folds the input into a copy of
the state and returns every command that copy says is due and not yet recorded:

    task RUNNING, our node selected, no job yet          -> RunInference     (inference.jobs)
    task RUNNING, our result in, not committed on chain  -> submitCommitment (chain.tx-requests)
    task DISCLOSING, our commitment on chain, not yet
      disclosed, node still in the task                  -> disclose         (chain.tx-requests)
    task ended (Completed, Aborted, Cancelled), or our node dismissed -> nothing, ever

`evolve(state, input_or_command)` folds inputs and also the commands decide returned, which
is how the state remembers what it asked for; `step` does both. Because a command is due only
while it is not recorded, a redelivered input asks for nothing new, and a replay from the start
asks again with the same deterministic ids, which the submitter drops.

Resending. `outstanding(state, now_ms, config)` gives again every command the state records as
asked and still unanswered (a job with no result, a commit or disclose with no outcome) while
it can still matter. A worker that restarts after a crash resends them: the state may have
reached the table's changelog while the command itself was still in the producer's buffer.
Each resent command has the id of the first, so whoever already has it drops the copy.

Error results: an inference error code becomes the error report `bytes([code])`, committed
like any result (ResultCompare: a one-byte result is an error report).

Reverts. A REVERTED commit or disclose is recorded, never blindly resent. A new attempt gets a
new id (`...:commit:2`) and is made only when a retry can help, the phase's deadline is still
ahead, and fewer than `max_attempts` were made: a revert with no decoded error (out of gas, a
node hiccup) or a REPLACED / EXPIRED request. A named error (WrongTaskStatus, DeadlinePassed,
AlreadyCommitted, CommitmentMismatch, ...) says the chain's state forbids the call, and the
same call would revert again; REJECTED means the submitter cannot send it at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeAlias

from schemas.commitment import commitment, error_report, is_well_formed
from streams.domain import task as task_model
from streams.domain.commands import (
    TASK_MANAGER,
    Command,
    RequestTx,
    RunInference,
    call_args,
    inference_job_id,
    node_request_id,
)
from streams.domain.errors import BadInferenceResult
from streams.domain.events import LogRetracted, TaskEvent
from streams.domain.inputs import InferenceResult, TxOutcome, TxStatus, retry_can_help
from streams.domain.protocol import TaskStatus

ORIGIN = "streams.node-saga"
COMMIT = "commit"
DISCLOSE = "disclose"

SagaInput: TypeAlias = TaskEvent | LogRetracted | InferenceResult | TxOutcome


@dataclass(frozen=True)
class SagaConfig:
    nodes: frozenset[str]  # checksummed addresses of the nodes this deployment operates
    max_attempts: int = 3
    origin: str = ORIGIN


@dataclass(frozen=True)
class TxTrack:
    """The latest attempt at one call, and what became of it (None while pending)."""

    request_id: str
    attempt: int
    outcome: TxStatus | None = None
    error_name: str | None = None


@dataclass(frozen=True)
class Duty:
    node: str
    job_id: str
    result: bytes | None = None  # the result to disclose: an error report for an error
    nonce: bytes | None = None
    commitment: bytes | None = None
    commit: TxTrack | None = None
    disclose: TxTrack | None = None


@dataclass(frozen=True)
class SagaState:
    task: task_model.TaskState
    duties: tuple[Duty, ...] = ()
    version: int = 0

    @classmethod
    def start(cls, task_id: str) -> SagaState:
        return cls(task_model.TaskState(task_id))

    def duty(self, node: str) -> Duty | None:
        return next((d for d in self.duties if d.node == node), None)

    @property
    def done(self) -> bool:
        return self.task.status.terminal


def step(
    state: SagaState, item: SagaInput, now_ms: int, config: SagaConfig
) -> tuple[SagaState, list[Command]]:
    """decide, then evolve by the input and by each command: what a faust agent does.

    The same as `decide` then `evolve`, with the input folded once rather than twice (the
    fold is most of the cost of a step)."""
    after = evolve(state, item)
    commands = [] if after == state or after.done else _due(after, now_ms, config)
    for command in commands:
        after = evolve(after, command)
    return after, commands


def decide(state: SagaState, item: SagaInput, now_ms: int, config: SagaConfig) -> list[Command]:
    after = evolve(state, item)
    if after == state or after.done:
        return []
    return _due(after, now_ms, config)


def evolve(state: SagaState, item: SagaInput | Command) -> SagaState:
    changed = _evolve(state, item)
    return state if changed == state else replace(changed, version=state.version + 1)


def _evolve(state: SagaState, item: SagaInput | Command) -> SagaState:
    match item:
        case InferenceResult():
            return _record_result(state, item)
        case TxOutcome():
            return _record_outcome(state, item)
        case RunInference():
            if state.duty(item.node) is not None:
                return state
            return replace(state, duties=(*state.duties, Duty(item.node, item.job_id)))
        case RequestTx():
            return _record_request(state, item)
        case _:
            return replace(state, task=task_model.evolve(state.task, item))


def _with_duty(state: SagaState, duty: Duty) -> SagaState:
    return replace(state, duties=tuple(duty if d.node == duty.node else d for d in state.duties))


def _record_result(state: SagaState, item: InferenceResult) -> SagaState:
    duty = state.duty(item.node)
    if item.task_id != state.task.task_id or duty is None or duty.result is not None:
        return state  # not a job we asked for, or a redelivery
    if item.error_code is not None:
        try:
            result = error_report(item.error_code)
        except ValueError as exc:
            raise BadInferenceResult(f"task {item.task_id} node {item.node}: {exc}") from exc
    else:
        result = item.result or b""
        task_type = state.task.task_type
        if task_type is None or not is_well_formed(task_type, result):
            # The contract would refuse it at disclose, after we committed to it.
            raise BadInferenceResult(
                f"task {item.task_id} node {item.node}: a {len(result)}-byte result is not"
                f" well formed for task type {task_type!r}"
            )
    try:
        digest = commitment(result, item.nonce)
    except ValueError as exc:
        raise BadInferenceResult(f"task {item.task_id} node {item.node}: {exc}") from exc
    return _with_duty(state, replace(duty, result=result, nonce=item.nonce, commitment=digest))


def _record_outcome(state: SagaState, item: TxOutcome) -> SagaState:
    for duty in state.duties:
        for name in (COMMIT, DISCLOSE):
            track: TxTrack | None = getattr(duty, name)
            if track is not None and track.request_id == item.request_id:
                if track.outcome is not None:
                    return state  # a redelivered outcome
                done = replace(track, outcome=item.status, error_name=item.error_name)
                return _with_duty(state, _set_track(duty, name, done))
    return state


def _record_request(state: SagaState, request: RequestTx) -> SagaState:
    duty = state.duty(request.signer)
    if duty is None:
        return state
    name = COMMIT if request.function == "submitCommitment" else DISCLOSE
    track: TxTrack | None = getattr(duty, name)
    attempt = 1 if track is None else track.attempt + 1
    if track is not None and track.request_id == request.request_id:
        return state
    return _with_duty(state, _set_track(duty, name, TxTrack(request.request_id, attempt)))


def _set_track(duty: Duty, name: str, track: TxTrack) -> Duty:
    return replace(duty, commit=track) if name == COMMIT else replace(duty, disclose=track)


def _next_attempt(track: TxTrack | None, config: SagaConfig) -> int | None:
    if track is None:
        return 1
    if track.outcome is None or track.outcome is TxStatus.MINED:
        return None
    if retry_can_help(track.outcome, track.error_name) and track.attempt < config.max_attempts:
        return track.attempt + 1
    return None


def outstanding(state: SagaState, now_ms: int, config: SagaConfig) -> list[Command]:
    """The commands `state` records as asked and unanswered, rebuilt with their first ids.

    Only those that can still matter: the task is live, the node still in it, and the chain
    still waits for what the command would do (a job's result, a commitment, a disclosure)."""
    task = state.task
    commands: list[Command] = []
    if state.done or task.deadline is None:
        return commands
    for duty in state.duties:
        member = task.member(duty.node)
        if member is None or not member.active or duty.node not in config.nodes:
            continue
        if task.status is TaskStatus.RUNNING and duty.result is None:
            job = _job(task, member.node)
            if job is not None:
                commands.append(job)
            continue
        if now_ms >= task.deadline * 1000:
            continue
        if _commit_due(task.status, member) and duty.commit and duty.commit.outcome is None:
            commands.append(_commit(state, duty, duty.commit.attempt, now_ms, config))
        elif _disclose_due(task.status, member) and duty.disclose and duty.disclose.outcome is None:
            commands.append(_disclose(state, duty, duty.disclose.attempt, now_ms, config))
    return commands


def _commit_due(status: TaskStatus, member: task_model.Member) -> bool:
    return status is TaskStatus.RUNNING and member.commitment is None


def _disclose_due(status: TaskStatus, member: task_model.Member) -> bool:
    return (
        status is TaskStatus.DISCLOSING and member.commitment is not None and member.result is None
    )


def _due(state: SagaState, now_ms: int, config: SagaConfig) -> list[Command]:
    task = state.task
    commands: list[Command] = []
    if task.chain_id is None or task.task_type is None or task.deadline is None:
        return commands
    for member in task.members:
        if member.node not in config.nodes or not member.active:
            continue
        duty = state.duty(member.node)
        if task.status is TaskStatus.RUNNING and duty is None:
            job = _job(task, member.node)
            if job is not None:
                commands.append(job)
            continue
        if duty is None or duty.result is None or duty.nonce is None or duty.commitment is None:
            continue
        if now_ms >= task.deadline * 1000:
            continue  # the contract refuses a call after the deadline: DeadlinePassed
        if _commit_due(task.status, member):
            attempt = _next_attempt(duty.commit, config)
            if attempt is not None:
                commands.append(_commit(state, duty, attempt, now_ms, config))
        elif _disclose_due(task.status, member):
            attempt = _next_attempt(duty.disclose, config)
            if attempt is not None:
                commands.append(_disclose(state, duty, attempt, now_ms, config))
    return commands


def _job(task: task_model.TaskState, node: str) -> RunInference | None:
    if task.chain_id is None or task.task_type is None or task.deadline is None:
        return None
    return RunInference(
        job_id=inference_job_id(task.chain_id, task.task_id, node),
        chain_id=task.chain_id,
        task_id=task.task_id,
        node=node,
        task_type=task.task_type,
        args_hash=task.args_hash,
        model_ids=task.model_ids,
        deadline_ms=task.deadline * 1000,
    )


def _commit(
    state: SagaState, duty: Duty, attempt: int, now_ms: int, config: SagaConfig
) -> RequestTx:
    assert duty.commitment is not None, "a commit is due only once the commitment is known"
    args = call_args(int(state.task.task_id), duty.commitment)
    return _request(state, duty.node, COMMIT, attempt, "submitCommitment", args, now_ms, config)


def _disclose(
    state: SagaState, duty: Duty, attempt: int, now_ms: int, config: SagaConfig
) -> RequestTx:
    assert duty.result is not None and duty.nonce is not None, "disclosing needs the result"
    args = call_args(int(state.task.task_id), duty.result, duty.nonce)
    return _request(state, duty.node, DISCLOSE, attempt, "disclose", args, now_ms, config)


def _request(
    state: SagaState,
    node: str,
    step_name: str,
    attempt: int,
    function: str,
    args_json: str,
    now_ms: int,
    config: SagaConfig,
) -> RequestTx:
    task = state.task
    assert task.chain_id is not None and task.deadline is not None, "a live task has both"
    return RequestTx(
        request_id=node_request_id(task.chain_id, task.task_id, node, step_name, attempt),
        signer=node,
        contract=TASK_MANAGER,
        function=function,
        args_json=args_json,
        value_wei="0",
        not_after=task.deadline * 1000,
        requested_at=now_ms,
        origin=config.origin,
    )
