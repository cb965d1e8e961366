"""The faust layer's records and table state, without Kafka."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace

import pytest
from pydantic import ValidationError
from test_domain_records import NODES, Chain

from schemas.catalog import NODE_PARTITIONS, TASK_PARTITIONS
from schemas.codec import Codec
from streams.agents_records import (
    ParkedResult,
    ProjectedNode,
    ProjectedTask,
    StateCodec,
    TaskEntry,
    inference_job,
    node_snapshot,
    status_changed,
    status_history,
    task_snapshot,
)
from streams.app import changelog_topics
from streams.domain import node as node_model
from streams.domain.commands import RunInference
from streams.domain.deadline import KeeperState, Watch
from streams.domain.inputs import InferenceResult
from streams.domain.node import NodeState, node_facts, node_retractions
from streams.domain.protocol import Fault, NodeStatus, TaskStatus, TaskType
from streams.domain.saga import SagaState
from streams.domain.task import Member, PhaseTimes, TaskState
from streams.domain.task import evolve as evolve_task
from streams.domain.task import replay as task_model_replay
from streams.settings import StreamsSettings

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
KEEPER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
codec = Codec()


def _running_task() -> TaskState:
    return TaskState(
        "7",
        chain_id=31337,
        status=TaskStatus.RUNNING,
        task_type=TaskType.SD,
        args_hash=b"\x11" * 32,
        model_ids=("base:sd15",),
        fee=10**18,
        members=(Member(NODE, 0, commitment=b"\x01" * 32, fault=Fault.MISSED_COMMIT),),
        deadline=1_700_000_100,
        times=PhaseTimes(created=1_700_000_000_000, started=1_700_000_000_000),
        version=3,
    )


def test_table_state_round_trips_through_the_state_codec() -> None:
    result = InferenceResult("7", NODE, b"\x00" * 8, None, b"\x02" * 32)
    entry = TaskEntry(
        replace(SagaState.start("7"), task=_running_task()),
        KeeperState((Watch("7", 31337, TaskStatus.RUNNING, 1_700_000_100),)),
        partition=4,
        parked=(ParkedResult(result, offset=12, value=b"raw"),),
    )
    state_codec = StateCodec()
    assert state_codec.loads(state_codec.dumps(entry)) == entry
    projected = ProjectedTask(_running_task(), partition=4, changed_at_ms=1_700_000_000_000)
    assert state_codec.loads(state_codec.dumps(projected)) == projected


def _busy_node() -> NodeState:
    chain = Chain()
    state = node_model.replay(
        NODES[0],
        [chain.event("NodeJoined"), chain.event("NodeStatusChanged")],  # type: ignore[list-item]
    )
    busy = chain.mine().event("NodeStatusChanged", task_id="9", **{"from": 1, "to": 4})
    state = node_model.evolve(state, busy)  # type: ignore[arg-type]
    selected = chain.task_event("NodeSelected", node=NODES[0], slot=0)
    completed = chain.mine().task_event("TaskCompleted", payouts=["7", "5", "5"])
    for event in (selected, completed):
        for fact in node_facts(event):
            if fact.node == NODES[0]:
                state = node_model.evolve(state, fact)
    return state


def test_a_projected_node_round_trips_through_the_state_codec() -> None:
    projected = ProjectedNode(_busy_node(), partition=2, changed_at_ms=1_700_000_000_000)
    state_codec = StateCodec()
    assert state_codec.loads(state_codec.dumps(projected)) == projected


def test_a_node_snapshot_is_a_valid_node_snapshot_record() -> None:
    state = _busy_node()
    name, back = codec.decode(codec.encode("NodeSnapshot", node_snapshot(31337, state)))
    assert (name, back["chain_id"], back["address"]) == ("NodeSnapshot", 31337, NODES[0])
    assert (back["status"], back["current_task"]) == ("PendingPause", "9")
    assert (back["tasks"], back["successes"], back["deliveries"]) == (1, 1, 1)
    assert (back["stake_wei"], back["earned_wei"], back["fined_wei"]) == (str(10**18), "7", "0")
    assert (back["gpu_name"], back["vram"], back["model_ids"]) == (
        state.gpu_name,
        state.vram,
        list(state.model_ids),
    )
    assert back["joined_at"].timestamp() * 1000 == state.joined_at
    assert back["updated_at"].timestamp() * 1000 == state.updated_at
    assert (back["version"], back["last_event_id"]) == (5, state.recent[-1].meta.event_id)


def test_a_node_that_saw_only_its_registry_events_has_no_task_counts() -> None:
    chain = Chain()
    state = node_model.replay(NODES[0], [chain.event("NodeJoined")])  # type: ignore[list-item]
    record = codec.decode(codec.encode("NodeSnapshot", node_snapshot(31337, state)))[1]
    assert (record["status"], record["tasks"], record["current_task"]) == ("None", 0, None)
    assert state.status is NodeStatus.NONE  # NodeStatusChanged is the one source of status


def test_a_retraction_routed_ahead_of_its_fact_drops_the_fact_when_it_comes() -> None:
    """The router sends the fact, the task projection its retraction: either may come first."""
    chain = Chain()
    created = chain.task_event("TaskCreated")
    selected = chain.task_event("NodeSelected", node=NODES[0], slot=0)
    task = task_model_replay("1", [created, selected])
    ((node, retraction),) = node_retractions(task, chain.retraction(selected))
    state = node_model.evolve(NodeState(node), retraction)
    assert state.version == 0  # nothing applied, nothing to show
    (fact,) = node_facts(selected)
    assert node_model.evolve(state, fact) is state
    assert node_model.evolve(state, retraction) is state  # a resent retraction


def test_each_table_changelog_has_the_partition_count_of_its_sources() -> None:
    settings = StreamsSettings(
        _env_file=None,  # type: ignore[call-arg]
        keeper_address=KEEPER,
        nonce_secret="sixteen bytes at least",  # type: ignore[arg-type]
        app_id="app",
    )
    counts = {t.name: t.partitions for t in changelog_topics(settings)}
    assert counts == {
        "app-tasks-changelog": TASK_PARTITIONS,
        "app-sagas-changelog": TASK_PARTITIONS,
        "app-nodes-changelog": NODE_PARTITIONS,
    }


def test_the_state_codec_refuses_to_unpickle_anything_but_domain_state() -> None:
    with pytest.raises(pickle.UnpicklingError, match=r"may not hold posix\.system"):
        StateCodec().loads(pickle.dumps(os.system))


def test_a_snapshot_is_a_valid_task_snapshot_record() -> None:
    record = task_snapshot(_running_task())
    name, back = codec.decode(codec.encode("TaskSnapshot", record))
    assert (name, back["status"], back["fee_wei"]) == ("TaskSnapshot", "Running", str(10**18))
    assert back["members"][0]["committed"] and back["members"][0]["fault"] == "MISSED_COMMIT"
    assert back["deadline"].timestamp() == 1_700_000_100


def test_a_status_change_carries_the_time_spent_in_the_phase_it_left() -> None:
    before = _running_task()
    after = replace(
        before,
        status=TaskStatus.DISCLOSING,
        times=replace(before.times, disclosing=1_700_000_004_500),
        version=4,
    )
    change = status_changed(before, after)
    assert change is not None
    assert (change["from_status"], change["to_status"]) == ("Running", "Disclosing")
    assert (change["phase_ms"], change["since_created_ms"]) == (4_500, 4_500)
    codec.encode("TaskStatusChanged", change)
    assert status_changed(before, replace(before, version=4)) is None


def test_an_inference_job_record_carries_the_command() -> None:
    command = RunInference(
        "31337:7:n:infer", 31337, "7", NODE, TaskType.LLM, b"\x22" * 32, ("m",), 1_000
    )
    _, record = codec.decode(codec.encode("InferenceJob", inference_job(command, 5)))
    assert (record["task_type"], record["model_ids"], record["job_id"]) == (
        "LLM",
        ["m"],
        "31337:7:n:infer",
    )


def test_settings_checksum_node_addresses_given_as_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HYDROGEN_STREAMS_NODE_ADDRESSES", f"{NODE.lower()}, {KEEPER.lower()}")
    monkeypatch.setenv("HYDROGEN_STREAMS_KEEPER_ADDRESS", KEEPER.lower())
    monkeypatch.setenv("HYDROGEN_STREAMS_NONCE_SECRET", "sixteen bytes at least")
    settings = StreamsSettings()  # type: ignore[call-arg]
    assert settings.node_addresses == [NODE, KEEPER]
    assert settings.keeper_address == KEEPER


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HYDROGEN_STREAMS_NODE_ADDRESSES": "0xnope"}, "'0xnope' is not an address"),
        ({"HYDROGEN_STREAMS_NONCE_SECRET": "short"}, "at least 16 bytes, got 5"),
    ],
)
def test_bad_settings_name_the_bad_value(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("HYDROGEN_STREAMS_KEEPER_ADDRESS", KEEPER)
    monkeypatch.setenv("HYDROGEN_STREAMS_NONCE_SECRET", "sixteen bytes at least")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError, match=message):
        StreamsSettings()  # type: ignore[call-arg]


def test_status_history_derives_exactly_what_the_live_fold_emitted() -> None:
    """A restarted worker resends these; consumers drop them by event id only if they are
    the very records the live fold sent."""
    chain = Chain()
    events = [chain.task_event("TaskCreated")]
    events += [chain.task_event("NodeSelected", node=n, slot=i) for i, n in enumerate(NODES)]
    events += [chain.task_event("TaskStarted"), chain.mine(400).task_event("TaskExpired", phase=2)]
    events.append(chain.task_event("TaskAborted", reason=1))
    live: list[dict] = []
    state = TaskState("1")
    for event in events:
        after = evolve_task(state, event)
        change = status_changed(state, after)
        if change is not None:
            live.append(change)
        state = after
    assert [(c["from_status"], c["to_status"]) for c in live] == [
        ("None", "Running"),
        ("Running", "Aborted"),
    ]
    assert status_history(state) == live
    assert [codec.encode("TaskStatusChanged", c) for c in status_history(state)] == [
        codec.encode("TaskStatusChanged", c) for c in live
    ]
