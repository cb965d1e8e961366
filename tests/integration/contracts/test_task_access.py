"""Only the right caller, at the right time, with the right data: every rejection by name."""

from __future__ import annotations

from chain_helpers import (
    APP,
    FEE,
    KEEPER,
    NODE_ADDRESSES,
    OWNER,
    PHASH_A,
    RELAY,
    Chain,
    commitment,
    nonce_for,
)

NODES = NODE_ADDRESSES[:3]
OUTSIDER = NODE_ADDRESSES[10]


def _running(chain: Chain) -> tuple[int, list[str]]:
    chain.join_nodes(NODES)
    task_id, _ = chain.create_task(APP, FEE)
    return task_id, chain.selected_nodes(task_id)


def test_a_non_selected_address_is_rejected_at_every_call(chain: Chain) -> None:
    task_id, chosen = _running(chain)
    tm = chain.manager.functions
    c = commitment(PHASH_A, nonce_for(OUTSIDER, task_id))
    assert chain.revert_of(OUTSIDER, tm.submitCommitment(task_id, c)) == "NotSelectedNode"
    chain.commit_all(task_id, {n: PHASH_A for n in chosen})
    nonce = nonce_for(chosen[0], task_id)
    assert chain.revert_of(OUTSIDER, tm.disclose(task_id, PHASH_A, nonce)) == "NotSelectedNode"
    chain.disclose_all(task_id, {n: PHASH_A for n in chosen})
    assert chain.revert_of(OUTSIDER, tm.confirmUpload(task_id)) == "NotRelay"
    assert chain.revert_of(chosen[0], tm.confirmUpload(task_id)) == "NotRelay"
    assert chain.revert_of(OUTSIDER, tm.onNodeAvailable()) == "NotRegistry"
    assert chain.revert_of(APP, tm.setThreshold(0, 64)) == "OwnableUnauthorizedAccount"
    reg = chain.registry.functions
    assert chain.revert_of(OUTSIDER, reg.release(chosen[0], task_id)) == "NotTaskManager"
    assert chain.revert_of(OUTSIDER, reg.slash(chosen[0], task_id)) == "NotTaskManager"
    assert chain.revert_of(OUTSIDER, reg.penalize(chosen[0], task_id, 10_000)) == "NotTaskManager"
    assert chain.revert_of(OUTSIDER, reg.take(0, 1, task_id)) == "NotTaskManager"
    assert chain.revert_of(OWNER, reg.setTaskManager(OUTSIDER)) == "TaskManagerAlreadySet"


def test_a_replayed_disclosure_is_rejected(chain: Chain) -> None:
    task_id, chosen = _running(chain)
    results = {n: PHASH_A for n in chosen}
    chain.commit_all(task_id, results)
    tm = chain.manager.functions
    first = chosen[0]
    chain.disclose(task_id, first, PHASH_A, nonce_for(first, task_id))
    again = tm.disclose(task_id, PHASH_A, nonce_for(first, task_id))
    assert chain.revert_of(first, again) == "AlreadyDisclosed"
    # Another node replaying the first node's opening does not match its own commitment.
    assert chain.revert_of(chosen[1], again) == "CommitmentMismatch"


def test_a_copied_commitment_is_rejected(chain: Chain) -> None:
    task_id, chosen = _running(chain)
    c = commitment(PHASH_A, nonce_for(chosen[0], task_id))
    chain.send(chosen[0], chain.manager.functions.submitCommitment(task_id, c))
    tm = chain.manager.functions
    assert chain.revert_of(chosen[1], tm.submitCommitment(task_id, c)) == "DuplicateCommitment"
    assert chain.revert_of(chosen[0], tm.submitCommitment(task_id, b"\x01" * 32)) == (
        "AlreadyCommitted"
    )


def test_a_disclosure_must_open_its_commitment_and_be_well_formed(chain: Chain) -> None:
    task_id, chosen = _running(chain)
    nonce = nonce_for(chosen[0], task_id)
    tm = chain.manager.functions
    assert chain.revert_of(chosen[0], tm.disclose(task_id, PHASH_A, nonce)) == "WrongTaskStatus"
    bad = PHASH_A[:7]  # not a whole number of 8-byte p-hashes
    results = {chosen[0]: bad, chosen[1]: PHASH_A, chosen[2]: PHASH_A}
    chain.commit_all(task_id, results)
    assert chain.revert_of(chosen[0], tm.disclose(task_id, PHASH_A, nonce)) == (
        "CommitmentMismatch"
    )
    assert chain.revert_of(chosen[0], tm.disclose(task_id, bad, nonce)) == "MalformedResult"


def test_calls_after_a_deadline_and_expiry_before_it_are_rejected(chain: Chain) -> None:
    task_id, chosen = _running(chain)
    tm = chain.manager.functions
    assert chain.revert_of(KEEPER, tm.expire(task_id)) == "DeadlineNotReached"
    chain.increase_time(chain.timeouts()[1] + 1)
    c = commitment(PHASH_A, nonce_for(chosen[0], task_id))
    assert chain.revert_of(chosen[0], tm.submitCommitment(task_id, c)) == "DeadlinePassed"
    assert chain.revert_of(KEEPER, tm.expire(999)) == "UnknownTask"


def test_task_creation_rejects_no_fee_no_args_and_unservable_vram(chain: Chain) -> None:
    tm = chain.manager.functions
    ok_hash = b"\x11" * 32
    assert chain.revert_of(APP, tm.createTask(0, ok_hash, [], 8)) == "FeeRequired"
    assert chain.revert_of(APP, tm.createTask(0, b"\x00" * 32, [], 8), FEE) == "EmptyArgsHash"
    assert chain.revert_of(APP, tm.createTask(0, ok_hash, [], 200), FEE) == "VramUnavailable"
    assert chain.revert_of(RELAY, tm.cancelTask(1)) == "UnknownTask"
