"""The node saga: our node's way through a task, its error path, and revert handling."""

from __future__ import annotations

import json

import pytest
from test_domain_records import CHAIN_ID, NODES, T0, Chain
from web3 import Web3

from schemas.commitment import commitment
from streams.domain.commands import RequestTx, RunInference, task_of_request
from streams.domain.errors import BadInferenceResult
from streams.domain.inputs import InferenceResult, TxOutcome, TxStatus, derive_nonce
from streams.domain.saga import SagaConfig, SagaInput, SagaState, outstanding, step

OURS = NODES[0]
CONFIG = SagaConfig(nodes=frozenset({OURS}))
NOW = (T0 + 10) * 1000
NONCE = derive_nonce(b"s" * 32, CHAIN_ID, "1", OURS)
RESULT = bytes(range(16))  # two images' p-hashes


def feed(state: SagaState, *inputs: SagaInput, now: int = NOW) -> tuple[SagaState, list]:
    out: list = []
    for item in inputs:
        state, commands = step(state, item, now, CONFIG)
        out += commands
    return state, out


def started(chain: Chain) -> tuple[SagaState, list]:
    events = [chain.task_event("TaskCreated")]
    events += [chain.task_event("NodeSelected", node=n, slot=i) for i, n in enumerate(NODES)]
    events.append(chain.task_event("TaskStarted"))
    return feed(SagaState.start("1"), *events)


def test_our_selected_node_gets_one_inference_job() -> None:
    _, commands = started(Chain())
    assert commands == [
        RunInference(
            job_id=f"{CHAIN_ID}:1:{OURS}:infer",
            chain_id=CHAIN_ID,
            task_id="1",
            node=OURS,
            task_type=0,  # type: ignore[arg-type]
            args_hash=bytes(range(32)),
            model_ids=("runwayml/stable-diffusion-v1-5",),
            deadline_ms=(T0 + 300) * 1000,
        )
    ]


def test_a_task_without_our_nodes_asks_for_nothing() -> None:
    chain = Chain()
    state, commands = feed(
        SagaState.start("1"),
        chain.task_event("TaskCreated"),
        chain.task_event("TaskStarted", nodes=["0x" + "5" * 40, "0x" + "6" * 40, "0x" + "7" * 40]),
    )
    assert commands == []
    assert state.duties == ()


def test_happy_path_commits_then_discloses_with_the_kept_nonce() -> None:
    chain = Chain()
    state, _ = started(chain)
    state, commands = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    (commit,) = commands
    assert isinstance(commit, RequestTx)
    assert commit.request_id == f"{CHAIN_ID}:1:{OURS}:commit"
    assert (commit.signer, commit.contract, commit.function) == (
        OURS,
        "TaskManager",
        "submitCommitment",
    )
    # The contract's check, computed independently: keccak256(abi.encodePacked(result, nonce)).
    expected = Web3.solidity_keccak(["bytes", "bytes32"], [RESULT, NONCE])
    assert json.loads(commit.args_json) == ["1", "0x" + bytes(expected).hex()]
    assert commit.not_after == (T0 + 300) * 1000
    assert commit.to_record()["origin"] == "streams.node-saga"

    state, commands = feed(state, TxOutcome(commit.request_id, TxStatus.MINED))
    assert commands == []
    chain.mine()
    state, commands = feed(
        state,
        chain.task_event(
            "CommitmentSubmitted", node=OURS, commitment=bytes(expected), commit_order=1
        ),
        chain.task_event(
            "CommitmentSubmitted", node=NODES[1], commitment=b"\x01" * 32, commit_order=2
        ),
        chain.task_event(
            "CommitmentSubmitted", node=NODES[2], commitment=b"\x02" * 32, commit_order=3
        ),
    )
    assert commands == []
    state, commands = feed(state, chain.task_event("DisclosureOpened"))
    (disclose,) = commands
    assert disclose.request_id == f"{CHAIN_ID}:1:{OURS}:disclose"  # type: ignore[union-attr]
    assert json.loads(disclose.args_json) == ["1", "0x" + RESULT.hex(), "0x" + NONCE.hex()]  # type: ignore[union-attr]

    chain.mine()
    state, commands = feed(
        state,
        chain.task_event("ResultDisclosed", node=OURS, result=RESULT),
        chain.task_event("TaskValidated"),
        chain.mine().task_event("TaskCompleted"),
    )
    assert commands == []
    assert state.done


def test_an_error_result_becomes_an_error_commitment() -> None:
    state, _ = started(Chain())
    _, (commit,) = feed(state, InferenceResult("1", OURS, None, 3, NONCE))
    assert json.loads(commit.args_json)[1] == "0x" + commitment(b"\x03", NONCE).hex()  # type: ignore[union-attr]


def test_an_error_code_outside_one_byte_is_refused() -> None:
    state, _ = started(Chain())
    with pytest.raises(BadInferenceResult, match="got 0"):
        feed(state, InferenceResult("1", OURS, None, 0, NONCE))


def test_a_malformed_result_is_refused_before_anything_is_committed() -> None:
    state, _ = started(Chain())
    with pytest.raises(BadInferenceResult, match="a 5-byte result"):
        feed(state, InferenceResult("1", OURS, b"12345", None, NONCE))


def test_a_redelivered_result_asks_for_nothing_more() -> None:
    state, _ = started(Chain())
    result = InferenceResult("1", OURS, RESULT, None, NONCE)
    state, first = feed(state, result)
    again, second = feed(state, result)
    assert len(first) == 1
    assert second == []
    assert again is state


def test_replaying_every_input_asks_for_the_same_ids() -> None:
    chain = Chain()
    inputs: list[SagaInput] = [chain.task_event("TaskCreated")]
    inputs += [chain.task_event("NodeSelected", node=n, slot=i) for i, n in enumerate(NODES)]
    inputs += [chain.task_event("TaskStarted"), InferenceResult("1", OURS, RESULT, None, NONCE)]
    first_state, first = feed(SagaState.start("1"), *inputs)
    second_state, second = feed(SagaState.start("1"), *inputs, now=NOW + 5000)
    assert [c.request_id if isinstance(c, RequestTx) else c.job_id for c in first] == [
        c.request_id if isinstance(c, RequestTx) else c.job_id for c in second
    ]
    assert first_state.duties == second_state.duties


def test_a_revert_without_a_named_error_is_retried_under_a_new_id() -> None:
    state, _ = started(Chain())
    state, (commit,) = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    state, (retry,) = feed(state, TxOutcome(commit.request_id, TxStatus.REVERTED))  # type: ignore[union-attr]
    assert retry.request_id == f"{CHAIN_ID}:1:{OURS}:commit:2"  # type: ignore[union-attr]
    assert retry.args_json == commit.args_json  # type: ignore[union-attr]
    # a redelivered outcome of the first attempt changes nothing
    assert feed(state, TxOutcome(commit.request_id, TxStatus.REVERTED)) == (state, [])  # type: ignore[union-attr]


def test_a_named_revert_is_recorded_and_not_retried() -> None:
    state, _ = started(Chain())
    state, (commit,) = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    outcome = TxOutcome(commit.request_id, TxStatus.REVERTED, error_name="DeadlinePassed")  # type: ignore[union-attr]
    state, commands = feed(state, outcome)
    assert commands == []
    track = state.duty(OURS).commit  # type: ignore[union-attr]
    assert (track.outcome, track.error_name) == (TxStatus.REVERTED, "DeadlinePassed")  # type: ignore[union-attr]


def test_retries_stop_at_max_attempts() -> None:
    state, _ = started(Chain())
    state, (request,) = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    ids = [request.request_id]  # type: ignore[union-attr]
    for _ in range(5):
        state, commands = feed(state, TxOutcome(ids[-1], TxStatus.REPLACED))
        ids += [c.request_id for c in commands]  # type: ignore[union-attr]
    assert ids == [f"{CHAIN_ID}:1:{OURS}:commit"] + [
        f"{CHAIN_ID}:1:{OURS}:commit:{n}" for n in (2, 3)
    ]


def test_no_retry_once_the_phase_deadline_has_passed() -> None:
    state, _ = started(Chain())
    state, (commit,) = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    late = (T0 + 301) * 1000
    _, commands = feed(state, TxOutcome(commit.request_id, TxStatus.REVERTED), now=late)  # type: ignore[union-attr]
    assert commands == []


def test_nothing_after_the_task_ends() -> None:
    chain = Chain()
    state, _ = started(chain)
    state, _ = feed(
        state,
        chain.mine(400).task_event("TaskExpired", phase=2),
        chain.task_event("TaskAborted", reason=1),
    )
    assert state.done
    _, commands = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    assert commands == []


def test_a_dismissed_node_does_not_disclose() -> None:
    chain = Chain()
    state, _ = started(chain)
    chain.mine(400)
    state, commands = feed(
        state,
        chain.task_event("TaskExpired", phase=2),
        chain.task_event("NodePenalized", node=OURS, fault=1),
        chain.task_event("DisclosureOpened", nodes=list(NODES[1:])),
        InferenceResult("1", OURS, RESULT, None, NONCE),
    )
    assert commands == []


def test_outcomes_are_routed_by_the_task_id_in_their_request_id() -> None:
    assert task_of_request(f"{CHAIN_ID}:42:{OURS}:commit:2") == "42"
    with pytest.raises(ValueError, match="'nonsense'"):
        task_of_request("nonsense")


def _ids(commands: list) -> list[str]:
    return [c.request_id if isinstance(c, RequestTx) else c.job_id for c in commands]


def test_outstanding_resends_the_unanswered_job_with_its_first_id() -> None:
    state, (job,) = started(Chain())
    assert outstanding(state, NOW + 1000, CONFIG) == [job]


def test_outstanding_resends_a_pending_commit_and_nothing_once_it_is_answered() -> None:
    state, _ = started(Chain())
    state, (commit,) = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    again = outstanding(state, NOW + 1000, CONFIG)
    assert _ids(again) == [commit.request_id]  # type: ignore[union-attr]
    assert again[0].args_json == commit.args_json  # type: ignore[union-attr]
    state, _ = feed(state, TxOutcome(commit.request_id, TxStatus.MINED))  # type: ignore[union-attr]
    assert outstanding(state, NOW + 1000, CONFIG) == []


def test_outstanding_resends_the_latest_attempt_only() -> None:
    state, _ = started(Chain())
    state, (commit,) = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    state, (retry,) = feed(state, TxOutcome(commit.request_id, TxStatus.REVERTED))  # type: ignore[union-attr]
    assert _ids(outstanding(state, NOW, CONFIG)) == [retry.request_id]  # type: ignore[union-attr]


def test_outstanding_resends_a_pending_disclose() -> None:
    chain = Chain()
    state, _ = started(chain)
    state, (commit,) = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    expected = Web3.solidity_keccak(["bytes", "bytes32"], [RESULT, NONCE])
    chain.mine()
    state, _ = feed(
        state,
        TxOutcome(commit.request_id, TxStatus.MINED),  # type: ignore[union-attr]
        chain.task_event(
            "CommitmentSubmitted", node=OURS, commitment=bytes(expected), commit_order=1
        ),
        chain.task_event("DisclosureOpened"),
    )
    assert _ids(outstanding(state, NOW, CONFIG)) == [f"{CHAIN_ID}:1:{OURS}:disclose"]


def test_outstanding_is_empty_after_the_deadline_and_after_the_end() -> None:
    chain = Chain()
    state, _ = started(chain)
    state, _ = feed(state, InferenceResult("1", OURS, RESULT, None, NONCE))
    assert outstanding(state, (T0 + 300) * 1000, CONFIG) == []  # the chain would refuse it
    state, _ = feed(
        state,
        chain.mine(400).task_event("TaskExpired", phase=2),
        chain.task_event("TaskAborted", reason=1),
    )
    assert outstanding(state, NOW, CONFIG) == []


def test_outstanding_of_a_replayed_state_names_what_the_first_run_asked() -> None:
    """What a restarted worker resends is what the crashed one asked for, id for id."""
    chain = Chain()
    inputs: list[SagaInput] = [chain.task_event("TaskCreated")]
    inputs += [chain.task_event("NodeSelected", node=n, slot=i) for i, n in enumerate(NODES)]
    inputs += [chain.task_event("TaskStarted"), InferenceResult("1", OURS, RESULT, None, NONCE)]
    state, asked = feed(SagaState.start("1"), *inputs)
    # the job is answered by the result; the commit is still pending
    assert _ids(outstanding(state, NOW + 5000, CONFIG)) == _ids(asked)[1:]
