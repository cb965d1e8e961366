"""The devnet's chain is a real EVM: signed transactions are mined, contracts are deployed."""

from __future__ import annotations

from eth_account import Account
from web3 import Web3

from hydrogen.devnet.accounts import Role, devnet_account


def test_a_locally_signed_transfer_is_mined_and_moves_exactly_its_value(
    w3: Web3, chain_snapshot: None
) -> None:
    sender = devnet_account(Role.APP)
    receiver = Account.create().address
    nonce = w3.eth.get_transaction_count(sender.address)
    before = w3.eth.get_balance(sender.address)
    tx = {
        "to": receiver,
        "value": 12_345,
        "gas": 21_000,
        "maxFeePerGas": w3.eth.gas_price * 2,
        "maxPriorityFeePerGas": 1,
        "nonce": nonce,
        "chainId": w3.eth.chain_id,
    }
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.01)

    assert receipt["status"] == 1
    assert receipt["from"] == sender.address
    assert w3.eth.get_balance(receiver) == 12_345
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(sender.address) == before - 12_345 - fee
    assert w3.eth.get_transaction_count(sender.address) == nonce + 1


def test_the_deployed_beacon_emits_its_event(
    w3: Web3, deployment: dict, chain_snapshot: None
) -> None:
    info = deployment["contracts"]["DevnetBeacon"]
    beacon = w3.eth.contract(address=info["address"], abi=info["abi"])
    app = devnet_account(Role.APP)
    tag = b"hydrogen".ljust(32, b"\0")
    tx = beacon.functions.beat(tag).build_transaction(
        {"from": app.address, "nonce": w3.eth.get_transaction_count(app.address)}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(app.sign_transaction(tx).raw_transaction), poll_latency=0.01
    )
    (event,) = beacon.events.Beat().process_receipt(receipt)
    assert event["args"]["from"] == app.address
    assert event["args"]["tag"] == tag
    assert beacon.functions.beats().call() == event["args"]["seq"]
