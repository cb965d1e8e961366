"""Where signing keys come from: encrypted keystore files, or an HD mnemonic (the devnet's).

Keys never travel on a topic and never reach a log line: a request names its signer by
address, and the `KeyRing` answers with the account or with `SignerKeyMissing`. Its repr
lists addresses only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr

from chain_bridge.errors import KeySourceError, SignerKeyMissing
from chain_bridge.submit_state import Attempt, Fees

log = logging.getLogger(__name__)


class KeyRing:
    """The accounts this submitter signs for, by checksummed address."""

    def __init__(self, accounts: Iterable[LocalAccount] = ()) -> None:
        self._accounts: dict[str, LocalAccount] = {a.address: a for a in accounts}

    def __repr__(self) -> str:
        return f"KeyRing({', '.join(self.addresses)})"

    def __len__(self) -> int:
        return len(self._accounts)

    @property
    def addresses(self) -> list[str]:
        return sorted(self._accounts)

    def holds(self, address: str) -> bool:
        return address in self._accounts

    def account(self, address: str) -> LocalAccount:
        try:
            return self._accounts[address]
        except KeyError:
            raise SignerKeyMissing(
                f"no key for signer {address}; this submitter holds {len(self)} key(s)"
            ) from None

    def merged(self, other: KeyRing) -> KeyRing:
        return KeyRing([*self._accounts.values(), *other._accounts.values()])


def from_mnemonic(mnemonic: str, count: int) -> KeyRing:
    """The first `count` accounts of BIP-44 path m/44'/60'/0'/0/i (what anvil funds)."""
    if count < 1:
        raise KeySourceError(f"mnemonic account count must be >= 1, got {count}")
    Account.enable_unaudited_hdwallet_features()
    try:
        return KeyRing(
            Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}")
            for i in range(count)
        )
    except Exception as exc:  # eth_account raises bare ValueErrors and its own types
        # The message must not repeat the mnemonic.
        raise KeySourceError(f"the mnemonic gives no keys: {type(exc).__name__}") from None


def from_keystore_dir(folder: Path, password: str) -> KeyRing:
    """Every `*.json` keystore (Web3 Secret Storage) in `folder`, decrypted with `password`."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise KeySourceError(f"no keystore files (*.json) in {folder}")
    accounts = []
    for path in files:
        try:
            keyfile = json.loads(path.read_text())
            key = Account.decrypt(keyfile, password)
        except ValueError as exc:
            raise KeySourceError(f"keystore {path} cannot be decrypted: {exc}") from None
        account: LocalAccount = Account.from_key(key)
        claimed = keyfile.get("address")
        if claimed and account.address.lower() != "0x" + claimed.lower().removeprefix("0x"):
            raise KeySourceError(
                f"keystore {path} says address {claimed} but holds the key of {account.address}"
            )
        accounts.append(account)
    log.info("loaded %d keystore key(s) from %s", len(accounts), folder)
    return KeyRing(accounts)


def sign_attempt(
    account: LocalAccount,
    chain_id: int,
    nonce: int,
    to: str,
    data: bytes,
    value: int,
    gas: int,
    fees: Fees,
    now_ms: int,
) -> Attempt:
    """An EIP-1559 transaction signed locally: the key never leaves this process."""
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "to": HexStr(to),
            "data": data,
            "value": value,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
    )
    return Attempt("0x" + bytes(signed.hash).hex(), bytes(signed.raw_transaction), fees, now_ms)
