"""Each deadline expiring: who is penalized, whether the task goes on, where the fee goes."""

from __future__ import annotations

from chain_helpers import (
    ABORTED,
    APP,
    DISCLOSING,
    FEE,
    KEEPER,
    MISSED_COMMIT,
    MISSED_DISCLOSE,
    MISSED_UPLOAD,
    NODE_ADDRESSES,
    NODE_AVAILABLE,
    NODE_PAUSED,
    PHASH_A,
    RELAY,
    TIMEOUT,
    UPLOAD_TIMEOUT,
    VALIDATED,
    Chain,
    credited,
    nonce_for,
)

NODES = NODE_ADDRESSES[:3]


def _expire(chain: Chain, task_id: int, after: int) -> object:
    chain.increase_time(after + 1)
    return chain.send(KEEPER, chain.manager.functions.expire(task_id))


def test_a_missed_commit_pauses_the_node_and_the_other_two_finish_the_task(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    chosen = chain.selected_nodes(task_id)
    on_time = {chosen[0]: PHASH_A, chosen[2]: PHASH_A}
    chain.commit_all(task_id, on_time)

    expired = _expire(chain, task_id, chain.timeouts()[1])
    (penalized,) = chain.events(expired, chain.manager, "NodePenalized")
    assert (penalized["node"], penalized["fault"], penalized["amount"]) == (
        chosen[1],
        MISSED_COMMIT,
        0,
    )
    assert chain.node_status(chosen[1]) == NODE_PAUSED
    (opened,) = chain.events(expired, chain.manager, "DisclosureOpened")
    assert opened["nodes"] == [chosen[0], chosen[2]]
    assert chain.task(task_id)["status"] == DISCLOSING

    chain.disclose_all(task_id, on_time)
    done = chain.send(RELAY, chain.manager.functions.confirmUpload(task_id))
    assert credited(chain, [done], chain.manager) == {
        chosen[0]: FEE - FEE // 2,
        chosen[2]: FEE // 2,
    }
    chain.books_balance()


def test_fewer_than_two_commitments_abort_for_timeout_with_a_refund(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    chosen = chain.selected_nodes(task_id)
    chain.commit_all(task_id, {chosen[0]: PHASH_A})

    expired = _expire(chain, task_id, chain.timeouts()[1])
    (aborted,) = chain.events(expired, chain.manager, "TaskAborted")
    assert (aborted["reason"], aborted["refund"]) == (TIMEOUT, FEE)
    assert chain.node_status(chosen[0]) == NODE_AVAILABLE  # it did its part
    assert chain.node_status(chosen[1]) == chain.node_status(chosen[2]) == NODE_PAUSED
    assert chain.owed(chain.manager, APP) == FEE
    chain.books_balance()


def test_a_missed_disclosure_is_fined_into_the_pool_and_the_others_validate(
    chain: Chain,
) -> None:
    chain.join_nodes(NODES)
    stake = chain.min_stake()
    fine_bps = chain.manager.functions.missFineBps().call()
    task_id, _ = chain.create_task(APP, FEE)
    chosen = chain.selected_nodes(task_id)
    chain.commit_all(task_id, {n: PHASH_A for n in chosen})
    chain.disclose_all(task_id, {chosen[0]: PHASH_A, chosen[1]: PHASH_A})

    expired = _expire(chain, task_id, chain.timeouts()[2])
    fine = stake * fine_bps // 10_000
    (penalized,) = chain.events(expired, chain.manager, "NodePenalized")
    assert (penalized["node"], penalized["fault"], penalized["amount"]) == (
        chosen[2],
        MISSED_DISCLOSE,
        fine,
    )
    assert chain.registry.functions.incentivePool().call() == fine
    assert chain.registry.functions.getNode(chosen[2]).call()[4] == stake - fine
    assert chain.node_status(chosen[2]) == NODE_PAUSED
    assert chain.task(task_id)["status"] == VALIDATED
    chain.books_balance()


def test_a_missed_upload_fines_the_deliverer_and_the_next_agreeing_node_delivers(
    chain: Chain,
) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    chosen, _ = chain.run_to_settlement(task_id, [PHASH_A] * 3)  # chosen[0] committed first

    expired = _expire(chain, task_id, chain.timeouts()[3])
    (penalized,) = chain.events(expired, chain.manager, "NodePenalized")
    assert (penalized["node"], penalized["fault"]) == (chosen[0], MISSED_UPLOAD)
    (reassigned,) = chain.events(expired, chain.manager, "DeliveryReassigned")
    assert reassigned["resultNode"] == chosen[1]  # the next to have committed
    assert chain.events(expired, chain.manager, "TaskAborted") == []
    assert chain.task(task_id)["status"] == VALIDATED
    assert chain.node_status(chosen[0]) == NODE_PAUSED

    done = chain.send(RELAY, chain.manager.functions.confirmUpload(task_id))
    (completed,) = chain.events(done, chain.manager, "TaskCompleted")
    assert completed["resultNode"] == chosen[1]
    # The node that missed its upload is not paid; the new deliverer gets the odd wei.
    assert credited(chain, [done], chain.manager) == {
        chosen[1]: FEE - FEE // 2,
        chosen[2]: FEE // 2,
    }
    chain.books_balance()


def test_when_every_agreeing_node_misses_its_upload_the_creator_is_refunded(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    chosen, _ = chain.run_to_settlement(task_id, [PHASH_A] * 3)

    upload = chain.timeouts()[3]
    receipts = [_expire(chain, task_id, upload) for _ in range(3)]
    fined = [e["node"] for r in receipts for e in chain.events(r, chain.manager, "NodePenalized")]
    assert fined == chosen  # in the order they were due to deliver
    (aborted,) = chain.events(receipts[-1], chain.manager, "TaskAborted")
    assert (aborted["reason"], aborted["refund"]) == (UPLOAD_TIMEOUT, FEE)
    assert chain.task(task_id)["status"] == ABORTED
    assert all(chain.node_status(n) == NODE_PAUSED for n in chosen)
    assert credited(chain, receipts, chain.manager) == {APP: FEE}
    chain.books_balance()


def test_a_paused_node_fined_under_the_minimum_must_top_up_to_resume(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    chosen, _ = chain.run_to_settlement(task_id, [PHASH_A] * 3)
    _expire(chain, task_id, chain.timeouts()[3])
    late = chosen[0]
    reg = chain.registry.functions
    assert chain.revert_of(late, reg.resume()) == "StakeTooLow"
    fine = chain.min_stake() - reg.getNode(late).call()[4]
    chain.send(late, reg.addStake(), value=fine)
    chain.send(late, reg.resume())
    assert chain.node_status(late) == NODE_AVAILABLE


def test_a_replayed_nonce_cannot_rescue_a_missed_disclosure(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    chosen = chain.selected_nodes(task_id)
    chain.commit_all(task_id, {n: PHASH_A for n in chosen})
    _expire(chain, task_id, chain.timeouts()[2])
    late = chain.manager.functions.disclose(task_id, PHASH_A, nonce_for(chosen[0], task_id))
    assert chain.revert_of(chosen[0], late) == "WrongTaskStatus"
