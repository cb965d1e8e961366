"""Money out: re-entrancy on payout fails, and every wei of fees and stakes is accounted for."""

from __future__ import annotations

from chain_helpers import (
    APP,
    FEE,
    NODE_ADDRESSES,
    OWNER,
    PHASH_A,
    RELAY,
    Chain,
    commitment,
    flip_bits,
    nonce_for,
)
from eth_utils import keccak

from hydrogen import contracts
from hydrogen.devnet.accounts import Role, devnet_account

REENTRANCY_ERROR = keccak(text="ReentrancyGuardReentrantCall()")[:4]


def test_a_node_contract_re_entering_withdraw_gets_its_payout_exactly_once(
    chain: Chain, artifacts: dict[str, contracts.Artifact]
) -> None:
    art = artifacts["ReentrantNode"]
    operator = devnet_account(Role.DEPLOYER)
    deployed = contracts.deploy(chain.w3, operator, art)
    attacker = chain.w3.eth.contract(address=deployed.address, abi=art.abi)
    tm, reg = chain.manager, chain.registry

    def via(target: object, call: object, value: int = 0) -> object:
        data = call._encode_transaction_data()
        return chain.send(operator.address, attacker.functions.exec(target.address, data), value)

    via(reg, reg.functions.join("gpu", 24, []), chain.min_stake())
    chain.join_nodes(NODE_ADDRESSES[:2])
    task_id, _ = chain.create_task(APP, FEE)
    nodes = chain.selected_nodes(task_id)
    assert attacker.address in nodes
    for node in nodes:
        c = commitment(PHASH_A, nonce_for(node, task_id))
        if node == attacker.address:
            via(tm, tm.functions.submitCommitment(task_id, c))
        else:
            chain.send(node, tm.functions.submitCommitment(task_id, c))
    for node in nodes:
        call = tm.functions.disclose(task_id, PHASH_A, nonce_for(node, task_id))
        if node == attacker.address:
            via(tm, call)
        else:
            chain.send(node, call)
    chain.send(RELAY, tm.functions.confirmUpload(task_id))
    owed = chain.owed(tm, attacker.address)
    assert owed > 0

    chain.send(operator.address, attacker.functions.arm(tm.address))
    escrow_before = chain.w3.eth.get_balance(tm.address)
    via(tm, tm.functions.withdraw())

    assert attacker.functions.reentryAttempts().call() == 1
    assert attacker.functions.reentryFailures().call() == 1
    assert attacker.functions.lastRevertData().call()[:4] == REENTRANCY_ERROR
    assert attacker.functions.received().call() == owed
    assert chain.w3.eth.get_balance(tm.address) == escrow_before - owed
    assert chain.owed(tm, attacker.address) == 0
    chain.books_balance()


def test_fees_in_equal_payouts_plus_refunds_and_stakes_lost_equal_the_pool(chain: Chain) -> None:
    nodes = NODE_ADDRESSES[:9]
    chain.join_nodes(nodes)
    stake = chain.min_stake()
    tm = chain.manager
    receipts = []
    fees = [FEE, 3 * 10**17 + 7, 5 * 10**17 + 2, 7 * 10**17 + 1]

    honest, _ = chain.create_task(APP, fees[0])
    cheated, _ = chain.create_task(APP, fees[1])
    split, _ = chain.create_task(APP, fees[2])
    _, d1 = chain.run_to_settlement(honest, [PHASH_A] * 3)
    _, d2 = chain.run_to_settlement(cheated, [PHASH_A, PHASH_A, flip_bits(PHASH_A, 0, 30)])
    _, d3 = chain.run_to_settlement(
        split, [PHASH_A, flip_bits(PHASH_A, 0, 30), flip_bits(PHASH_A, 1, 30)]
    )
    receipts += d1 + d2 + d3
    receipts.append(chain.send(RELAY, tm.functions.confirmUpload(honest)))
    receipts.append(chain.send(RELAY, tm.functions.confirmUpload(cheated)))
    queued, r = chain.create_task(APP, fees[3], min_vram=141)
    receipts.append(r)
    receipts.append(chain.send(APP, tm.functions.cancelTask(queued)))

    credits: dict[str, int] = {}
    for r in receipts:
        for e in chain.events(r, tm, "Credited"):
            credits[e["account"]] = credits.get(e["account"], 0) + e["amount"]
    refunds = credits.pop(APP)
    assert refunds == fees[2] + fees[3]
    assert sum(credits.values()) == fees[0] + fees[1]
    assert sum(credits.values()) + refunds == sum(fees)
    assert tm.functions.totalEscrowed().call() == 0
    assert chain.registry.functions.incentivePool().call() == stake  # one cheater
    assert chain.registry.functions.totalStaked().call() == stake * (len(nodes) - 1)

    pool_to = devnet_account(Role.KEEPER).address
    before = chain.w3.eth.get_balance(pool_to)
    chain.send(OWNER, chain.registry.functions.withdrawIncentivePool(pool_to, stake))
    assert chain.w3.eth.get_balance(pool_to) == before + stake
    chain.books_balance()
