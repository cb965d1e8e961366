"""Commit-reveal and on-chain consensus: who is paid, who is slashed, what is refunded."""

from __future__ import annotations

from chain_helpers import (
    APP,
    ARGS_INVALID,
    COMPLETED,
    FEE,
    LLM,
    NO_CONSENSUS,
    NODE_ADDRESSES,
    NODE_AVAILABLE,
    NODE_SLASHED,
    OUTVOTED,
    PHASH_A,
    RELAY,
    VALIDATED,
    Chain,
    credited,
    flip_bits,
)

NODES = NODE_ADDRESSES[:3]


def test_three_agreeing_nodes_are_paid_the_whole_fee_and_go_back_to_work(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, created = chain.create_task(APP, FEE)
    chosen, disclosures = chain.run_to_settlement(task_id, [PHASH_A] * 3)

    # The events alone tell a reader who was picked and what was decided.
    (started,) = chain.events(created, chain.manager, "TaskStarted")
    assert list(started["nodes"]) == chosen
    assert len(chain.events(created, chain.manager, "NodeSelected")) == 3
    (validated,) = chain.events(disclosures[-1], chain.manager, "TaskValidated")
    assert validated["resultNode"] == chosen[0]  # the first to commit delivers
    assert sorted(validated["agreeingNodes"]) == sorted(NODES)
    assert chain.task(task_id)["status"] == VALIDATED

    done = chain.send(RELAY, chain.manager.functions.confirmUpload(task_id))
    (completed,) = chain.events(done, chain.manager, "TaskCompleted")
    share = FEE // 3
    assert dict(zip(completed["nodes"], completed["payouts"], strict=True)) == {
        chosen[0]: FEE - 2 * share,
        chosen[1]: share,
        chosen[2]: share,
    }
    assert credited(chain, [done], chain.manager) == {
        n: chain.owed(chain.manager, n) for n in chosen
    }
    assert sum(chain.owed(chain.manager, n) for n in chosen) == FEE
    assert chain.task(task_id)["status"] == COMPLETED
    assert [chain.node_status(n) for n in NODES] == [NODE_AVAILABLE] * 3
    chain.books_balance()


def test_a_cheater_is_slashed_while_the_two_honest_nodes_share_the_fee(chain: Chain) -> None:
    chain.join_nodes(NODES)
    stake = chain.min_stake()
    task_id, _ = chain.create_task(APP, FEE)
    cheat = flip_bits(PHASH_A, 1, 6)  # one image 6 bits off: over the threshold of 5
    chosen, disclosures = chain.run_to_settlement(task_id, [PHASH_A, cheat, PHASH_A])
    cheater = chosen[1]

    (slashed,) = chain.events(disclosures[-1], chain.registry, "NodeSlashed")
    assert (slashed["node"], slashed["taskId"], slashed["amount"]) == (cheater, task_id, stake)
    (penalized,) = chain.events(disclosures[-1], chain.manager, "NodePenalized")
    assert (penalized["node"], penalized["fault"]) == (cheater, OUTVOTED)
    assert chain.node_status(cheater) == NODE_SLASHED
    assert chain.registry.functions.incentivePool().call() == stake

    done = chain.send(RELAY, chain.manager.functions.confirmUpload(task_id))
    payouts = credited(chain, [done], chain.manager)
    assert payouts == {chosen[0]: FEE - FEE // 2, chosen[2]: FEE // 2}
    assert sum(payouts.values()) == FEE
    chain.books_balance()


def test_p_hashes_within_the_threshold_agree_and_nobody_is_slashed(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    near = flip_bits(PHASH_A, 0, 5)  # exactly the threshold
    _, disclosures = chain.run_to_settlement(task_id, [PHASH_A, near, flip_bits(near, 1, 5)])
    (validated,) = chain.events(disclosures[-1], chain.manager, "TaskValidated")
    assert sorted(validated["agreeingNodes"]) == sorted(NODES)
    assert chain.events(disclosures[-1], chain.registry, "NodeSlashed") == []


def test_three_different_results_abort_for_no_consensus_with_a_full_refund(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    results = [PHASH_A, flip_bits(PHASH_A, 0, 20), flip_bits(PHASH_A, 1, 20)]
    _, disclosures = chain.run_to_settlement(task_id, results)

    (aborted,) = chain.events(disclosures[-1], chain.manager, "TaskAborted")
    assert (aborted["reason"], aborted["refund"]) == (NO_CONSENSUS, FEE)
    assert credited(chain, disclosures, chain.manager) == {APP: FEE}
    assert chain.registry.functions.incentivePool().call() == 0
    assert [chain.node_status(n) for n in NODES] == [NODE_AVAILABLE] * 3
    chain.books_balance()


def test_two_matching_error_reports_abort_as_invalid_args_and_slash_the_odd_result(
    chain: Chain,
) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    error = b"\x01"
    chosen, disclosures = chain.run_to_settlement(task_id, [error, PHASH_A, error])

    disclosed = [e for r in disclosures for e in chain.events(r, chain.manager, "ResultDisclosed")]
    assert [e["errorCode"] for e in disclosed] == [1, 0, 1]
    (aborted,) = chain.events(disclosures[-1], chain.manager, "TaskAborted")
    assert (aborted["reason"], aborted["refund"]) == (ARGS_INVALID, FEE)
    assert chain.node_status(chosen[1]) == NODE_SLASHED
    assert chain.node_status(chosen[0]) == chain.node_status(chosen[2]) == NODE_AVAILABLE
    assert chain.owed(chain.manager, APP) == FEE
    chain.books_balance()


def test_different_error_codes_do_not_agree(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    _, disclosures = chain.run_to_settlement(task_id, [b"\x01", b"\x02", PHASH_A])
    (aborted,) = chain.events(disclosures[-1], chain.manager, "TaskAborted")
    assert aborted["reason"] == NO_CONSENSUS


def test_llm_results_agree_only_when_equal(chain: Chain) -> None:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE, task_type=LLM)
    digest = bytes(range(32))
    off_by_one_bit = bytes([digest[0] ^ 1]) + digest[1:]
    chosen, disclosures = chain.run_to_settlement(task_id, [digest, digest, off_by_one_bit])
    assert chain.node_status(chosen[2]) == NODE_SLASHED
    (validated,) = chain.events(disclosures[-1], chain.manager, "TaskValidated")
    assert validated["result"] == digest
