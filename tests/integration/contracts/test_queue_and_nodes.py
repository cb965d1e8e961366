"""The node registry, random selection, and the queue of tasks waiting for nodes."""

from __future__ import annotations

from chain_helpers import (
    APP,
    CANCELLED,
    FEE,
    KEEPER,
    NODE_ADDRESSES,
    NODE_AVAILABLE,
    NODE_BUSY,
    NODE_PAUSED,
    NODE_PENDING_PAUSE,
    NODE_PENDING_QUIT,
    NODE_QUIT,
    PHASH_A,
    QUEUED,
    RELAY,
    RUNNING,
    TIMEOUT,
    Chain,
)

NODES = NODE_ADDRESSES[:3]


def test_joining_takes_at_least_the_minimum_stake(chain: Chain) -> None:
    reg = chain.registry.functions
    low = chain.min_stake() - 1
    assert chain.revert_of(NODES[0], reg.join("gpu", 24, []), low) == "StakeTooLow"
    assert chain.revert_of(NODES[0], reg.join("gpu", 4, []), chain.min_stake()) == "VramTooLow"
    receipt = chain.join(NODES[0])
    (joined,) = chain.events(receipt, chain.registry, "NodeJoined")
    assert (joined["vram"], joined["stake"], joined["modelIds"]) == (
        24,
        chain.min_stake(),
        ["base:sd15"],
    )
    assert chain.node_status(NODES[0]) == NODE_AVAILABLE
    again = reg.join("gpu", 24, [])
    assert chain.revert_of(NODES[0], again, chain.min_stake()) == "AlreadyRegistered"


def test_an_idle_node_pauses_resumes_and_quits_with_its_whole_stake(chain: Chain) -> None:
    node = NODES[0]
    reg = chain.registry.functions
    chain.join(node)
    chain.send(node, reg.pause())
    assert chain.node_status(node) == NODE_PAUSED
    chain.send(node, reg.resume())
    assert chain.node_status(node) == NODE_AVAILABLE
    quit_receipt = chain.send(node, reg.quit())
    changes = chain.events(quit_receipt, chain.registry, "NodeStatusChanged")
    assert [(c["from"], c["to"]) for c in changes] == [(NODE_AVAILABLE, NODE_QUIT)]

    before = chain.w3.eth.get_balance(node)
    receipt = chain.send(node, reg.withdraw())
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert chain.w3.eth.get_balance(node) == before + chain.min_stake() - gas_cost
    chain.books_balance()


def test_a_busy_node_quits_and_pauses_only_once_its_task_ends(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    chosen = chain.selected_nodes(task_id)
    reg = chain.registry.functions
    chain.send(chosen[0], reg.quit())
    chain.send(chosen[1], reg.pause())
    assert chain.node_status(chosen[0]) == NODE_PENDING_QUIT
    assert chain.node_status(chosen[1]) == NODE_PENDING_PAUSE
    assert chain.owed(chain.registry, chosen[0]) == 0

    chain.run_to_settlement(task_id, [PHASH_A] * 3)
    chain.send(RELAY, chain.manager.functions.confirmUpload(task_id))
    assert chain.node_status(chosen[0]) == NODE_QUIT
    assert chain.owed(chain.registry, chosen[0]) == chain.min_stake()
    assert chain.node_status(chosen[1]) == NODE_PAUSED
    assert chain.node_status(chosen[2]) == NODE_AVAILABLE
    assert chain.owed(chain.manager, chosen[0]) > 0  # still paid for the task
    chain.books_balance()


def test_selection_picks_three_distinct_nodes_with_enough_vram(chain: Chain) -> None:
    small, big = NODE_ADDRESSES[:6], NODE_ADDRESSES[6:12]
    chain.join_nodes(small, vram=12)
    chain.join_nodes(big, vram=48)
    first, _ = chain.create_task(APP, FEE, min_vram=40)
    second, _ = chain.create_task(APP, FEE, min_vram=40)
    picked = chain.selected_nodes(first) + chain.selected_nodes(second)
    assert len(set(picked)) == 6
    assert set(picked) == set(big)
    assert all(chain.node_status(n) == NODE_BUSY for n in picked)
    third, _ = chain.create_task(APP, FEE, min_vram=40)
    assert chain.task(third)["status"] == QUEUED  # the 12 GB nodes do not qualify


def test_a_queued_task_starts_when_a_node_joins(chain: Chain) -> None:
    chain.join_nodes(NODES[:2])
    task_id, created = chain.create_task(APP, FEE)
    (queued,) = chain.events(created, chain.manager, "TaskQueued")
    assert queued["taskId"] == task_id
    joined = chain.join(NODES[2])
    (started,) = chain.events(joined, chain.manager, "TaskStarted")
    assert started["taskId"] == task_id
    assert sorted(started["nodes"]) == sorted(NODES)
    assert chain.task(task_id)["status"] == RUNNING


def test_a_queued_task_starts_when_a_task_frees_its_nodes(chain: Chain) -> None:
    chain.join_nodes(NODES)
    first, _ = chain.create_task(APP, FEE)
    waiting, _ = chain.create_task(APP, FEE)
    assert chain.task(waiting)["status"] == QUEUED
    chain.run_to_settlement(first, [PHASH_A] * 3)
    done = chain.send(RELAY, chain.manager.functions.confirmUpload(first))
    (started,) = chain.events(done, chain.manager, "TaskStarted")
    assert started["taskId"] == waiting


def test_the_creator_cancels_a_queued_task_for_a_full_refund(chain: Chain) -> None:
    task_id, _ = chain.create_task(APP, FEE)
    tm = chain.manager.functions
    assert chain.revert_of(RELAY, tm.cancelTask(task_id)) == "NotCreator"
    receipt = chain.send(APP, tm.cancelTask(task_id))
    (cancelled,) = chain.events(receipt, chain.manager, "TaskCancelled")
    assert (cancelled["creator"], cancelled["refund"]) == (APP, FEE)
    assert chain.task(task_id)["status"] == CANCELLED
    assert chain.manager.functions.queuedCount().call() == 0
    assert chain.owed(chain.manager, APP) == FEE
    # A cancelled task never starts, even when nodes arrive.
    chain.join_nodes(NODES)
    assert chain.task(task_id)["status"] == CANCELLED
    chain.books_balance()


def test_a_running_task_cannot_be_cancelled(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    tm = chain.manager.functions
    assert chain.revert_of(APP, tm.cancelTask(task_id)) == "WrongTaskStatus"


def test_a_task_queued_past_its_deadline_expires_with_a_refund(chain: Chain) -> None:
    task_id, _ = chain.create_task(APP, FEE)
    chain.increase_time(chain.timeouts()[0] + 1)
    receipt = chain.send(KEEPER, chain.manager.functions.expire(task_id))
    (aborted,) = chain.events(receipt, chain.manager, "TaskAborted")
    assert (aborted["reason"], aborted["refund"]) == (TIMEOUT, FEE)
    assert chain.manager.functions.queuedCount().call() == 0
    chain.books_balance()
