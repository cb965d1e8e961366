"""The node read model: registry events, facts derived from task events, duplicates, reorgs."""

from __future__ import annotations

import pytest
from test_domain_records import NODES, Chain

from streams.domain.errors import NodeStatusMismatch, RetractionTooDeep
from streams.domain.node import (
    RECENT_LIMIT,
    NodeAssigned,
    NodeState,
    evolve,
    node_facts,
    node_retractions,
    replay,
)
from streams.domain.protocol import NodeStatus
from streams.domain.task import replay as replay_task

NODE = NODES[0]


def joined(chain: Chain) -> NodeState:
    return replay(NODE, [chain.event("NodeJoined"), chain.event("NodeStatusChanged")])  # type: ignore[list-item]


def test_a_joined_node_is_available_with_its_gpu_and_stake() -> None:
    state = joined(Chain())
    assert (state.status, state.gpu_name, state.vram, state.stake) == (
        NodeStatus.AVAILABLE,
        "NVIDIA H100",
        80,
        10**18,
    )


def test_a_task_counts_success_and_a_slash_counts_once() -> None:
    chain = Chain()
    state = joined(chain)
    chain.mine()
    selected = chain.task_event("NodeSelected", node=NODE, slot=0)
    completed = chain.mine().task_event("TaskCompleted", payouts=["7", "5", "5"])
    for event in (selected, completed):
        for fact in node_facts(event):
            if fact.node == NODE:
                state = evolve(state, fact)
    assert (state.tasks, state.successes, state.earned, state.deliveries) == (1, 1, 7, 1)
    penalized = chain.mine().task_event("NodePenalized", node=NODE, fault=0, amount="1")
    (fact,) = node_facts(penalized)
    state = evolve(state, fact)
    state = evolve(state, chain.event("NodeSlashed"))  # type: ignore[arg-type]
    assert (state.slashes, state.timeouts, state.stake) == (1, 0, 0)


def test_a_missed_deadline_counts_a_timeout_and_the_fine() -> None:
    chain = Chain()
    state = joined(chain)
    (fact,) = node_facts(chain.mine().task_event("NodePenalized", node=NODE, fault=2))
    state = evolve(state, fact)
    state = evolve(state, chain.event("NodeFined"))  # type: ignore[arg-type]
    assert (state.timeouts, state.fined, state.stake) == (1, 100, 10**18 - 100)


def test_a_busy_node_holds_its_task() -> None:
    chain = Chain()
    state = evolve(
        joined(chain), chain.mine().event("NodeStatusChanged", task_id="9", **{"from": 1, "to": 2})
    )  # type: ignore[arg-type]
    assert (state.status, state.current_task) == (NodeStatus.BUSY, "9")


def test_a_status_change_from_another_status_is_refused() -> None:
    chain = Chain()
    with pytest.raises(NodeStatusMismatch, match="from BUSY, but the read model has it AVAILABLE"):
        evolve(joined(chain), chain.mine().event("NodeStatusChanged", **{"from": 2, "to": 1}))  # type: ignore[arg-type]


def test_duplicates_change_nothing() -> None:
    chain = Chain()
    state = joined(chain)
    event = chain.mine().event("StakeAdded")
    once = evolve(state, event)  # type: ignore[arg-type]
    assert evolve(once, event) is once  # type: ignore[arg-type]
    (fact,) = node_facts(chain.task_event("NodeSelected", node=NODE))
    counted = evolve(once, fact)
    assert evolve(counted, fact) is counted


def test_derived_facts_from_older_blocks_still_count() -> None:
    # Facts from task partitions arrive in no chain order; only their ids deduplicate them.
    chain = Chain()
    early = chain.task_event("NodeSelected", node=NODE)
    state = joined(chain.mine())
    (fact,) = node_facts(early)
    assert evolve(state, fact).tasks == 1


def test_a_retracted_task_fact_is_undone() -> None:
    chain = Chain()
    events = [chain.task_event("TaskCreated"), chain.task_event("NodeSelected", node=NODE, slot=0)]
    task = replay_task("1", events)
    retraction = chain.retraction(events[1])
    ((node, node_retraction),) = node_retractions(task, retraction)
    assert node == NODE
    state = evolve(joined(chain), *node_facts(events[1]))
    assert evolve(state, node_retraction).tasks == 0


def test_a_retraction_older_than_the_kept_history_says_so() -> None:
    chain = Chain()
    first = chain.event("NodeJoined")
    state = replay(NODE, [first, chain.event("NodeStatusChanged")])  # type: ignore[list-item]
    for n in range(RECENT_LIMIT):
        state = evolve(
            state, NodeAssigned(chain.mine().task_event("NodeSelected").meta, NODE, str(n))
        )
    assert state.base is not None
    with pytest.raises(RetractionTooDeep, match=first.meta.event_id):  # type: ignore[union-attr]
        evolve(state, chain.retraction(first))
