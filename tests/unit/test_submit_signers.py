"""Signing keys from keystore files and the devnet mnemonic; absent keys and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from chain_bridge.errors import KeySourceError, SignerKeyMissing
from chain_bridge.signers import from_keystore_dir, from_mnemonic

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def write_keystore(folder: Path, password: str) -> str:
    account = Account.create()
    keyfile = Account.encrypt(account.key, password, kdf="pbkdf2", iterations=1000)
    (folder / f"{account.address}.json").write_text(json.dumps(keyfile))
    return account.address


def test_keystore_files_give_their_accounts(tmp_path: Path) -> None:
    addresses = sorted(write_keystore(tmp_path, "pw") for _ in range(2))
    ring = from_keystore_dir(tmp_path, "pw")
    assert ring.addresses == addresses
    assert ring.account(addresses[0]).address == addresses[0]


def test_a_wrong_password_names_the_file_and_not_the_password(tmp_path: Path) -> None:
    write_keystore(tmp_path, "right")
    with pytest.raises(KeySourceError, match=r"keystore .*\.json cannot be decrypted") as info:
        from_keystore_dir(tmp_path, "wrong-password")
    assert "wrong-password" not in str(info.value)


def test_an_empty_keystore_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeySourceError, match=r"no keystore files \(\*\.json\) in"):
        from_keystore_dir(tmp_path, "pw")


def test_the_devnet_mnemonic_gives_anvils_accounts() -> None:
    ring = from_mnemonic(ANVIL_MNEMONIC, 2)
    assert ring.addresses == sorted(
        ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]
    )


def test_a_missing_key_names_the_signer() -> None:
    ring = from_mnemonic(ANVIL_MNEMONIC, 1)
    with pytest.raises(
        SignerKeyMissing, match="no key for signer 0x0000000000000000000000000000000000000001"
    ):
        ring.account("0x0000000000000000000000000000000000000001")


def test_the_key_ring_shows_addresses_only() -> None:
    ring = from_mnemonic(ANVIL_MNEMONIC, 1)
    key = ring.account(ring.addresses[0]).key.hex()
    assert repr(ring) == "KeyRing(0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266)"
    assert key not in repr(ring)
