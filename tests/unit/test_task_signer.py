"""Whose key signs an app's task: a keystore, or the devnet app account on a devnet only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from hydrogen.app.errors import SignerError
from hydrogen.app.signer import DEVNET_CHAIN_ID, app_signer, load_keystore
from hydrogen.devnet.accounts import Role, devnet_account

KEY = "0x" + "42" * 32


def keystore(tmp_path: Path, password: str = "secret") -> Path:
    path = tmp_path / "app.json"
    # pbkdf2 with few rounds: the default scrypt takes a second per test.
    path.write_text(json.dumps(Account.encrypt(KEY, password, kdf="pbkdf2", iterations=2)))
    return path


def never_asked() -> str:
    raise AssertionError("no password should be asked for")


def test_a_keystore_opens_with_its_password(tmp_path: Path) -> None:
    account = load_keystore(keystore(tmp_path), "secret")
    assert account.address == Account.from_key(KEY).address


def test_a_wrong_password_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = keystore(tmp_path)
    with pytest.raises(SignerError, match="does not open with that password") as refused:
        load_keystore(path, "guess")
    assert str(path) in str(refused.value)


def test_a_file_that_is_no_keystore_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(SignerError, match="not a keystore JSON file") as refused:
        load_keystore(path, "secret")
    assert str(path) in str(refused.value)


def test_the_devnet_app_account_signs_on_a_devnet_chain_without_asking(tmp_path: Path) -> None:
    account = app_signer(DEVNET_CHAIN_ID, None, never_asked)
    assert account.address == devnet_account(Role.APP).address


def test_another_chain_needs_a_keystore() -> None:
    with pytest.raises(SignerError, match="--keystore") as refused:
        app_signer(1, None, never_asked)
    assert "chain 1 " in str(refused.value)


def test_a_given_keystore_signs_even_on_a_devnet(tmp_path: Path) -> None:
    account = app_signer(DEVNET_CHAIN_ID, keystore(tmp_path), lambda: "secret")
    assert account.address == Account.from_key(KEY).address
