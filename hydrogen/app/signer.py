"""Whose key signs an app's transactions and relay requests.

An encrypted keystore (`--keystore FILE`, the standard Web3 Secret Storage JSON that geth,
MetaMask exports and `eth_account.Account.encrypt` write), its password from
HYDROGEN_APP_KEYSTORE_PASSWORD or asked for. Without one, and only on a devnet's chain, the
devnet app account: its key is derived from anvil's public test mnemonic, so it must never
sign on a chain where money is real. A raw private key is never taken on the command line:
it would sit in the shell history and in every process listing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from hydrogen.app.errors import SignerError
from hydrogen.devnet.accounts import Role, devnet_account

PASSWORD_ENV = "HYDROGEN_APP_KEYSTORE_PASSWORD"  # noqa: S105 (the variable's name)
DEVNET_CHAIN_ID = 31337  # anvil's; the devnet's accounts exist only there


def load_keystore(path: Path, password: str) -> LocalAccount:
    """The account in an encrypted keystore file; SignerError naming the file otherwise."""
    try:
        keystore = json.loads(path.read_text())
    except FileNotFoundError:
        raise SignerError(f"keystore {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignerError(f"keystore {path} is not a keystore JSON file: {exc}") from exc
    try:
        key = Account.decrypt(keystore, password)
    except ValueError as exc:  # a wrong password is "MAC mismatch"
        raise SignerError(f"keystore {path} does not open with that password: {exc}") from exc
    except (KeyError, TypeError) as exc:
        raise SignerError(f"keystore {path} lacks the field {exc}") from exc
    account: LocalAccount = Account.from_key(key)
    return account


def app_signer(chain_id: int, keystore: Path | None, password: Callable[[], str]) -> LocalAccount:
    """The keystore's account when one is given (`password` is asked only then), else the
    devnet app account on a devnet chain; SignerError on any other chain."""
    if keystore is not None:
        return load_keystore(keystore, password())
    if chain_id == DEVNET_CHAIN_ID:
        return devnet_account(Role.APP)
    raise SignerError(
        f"chain {chain_id} is not a devnet: give the app's key as --keystore FILE "
        f"(password in {PASSWORD_ENV} or asked for)"
    )
