"""Devnet accounts, derived from anvil's well-known test mnemonic (never a real key).

Each role has a fixed HD index so that every tool and test agrees on who is who.
"""

from __future__ import annotations

from enum import IntEnum
from functools import cache

from eth_account import Account
from eth_account.signers.local import LocalAccount

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_ACCOUNTS = 20  # what `anvil` funds by default; the roles below must stay under it

Account.enable_unaudited_hdwallet_features()


class Role(IntEnum):
    DEPLOYER = 0  # owns the contracts
    RELAY = 1  # confirms uploads on chain, custodial wallet of managed mode
    KEEPER = 2  # calls expire() after deadlines
    APP = 3  # the demo application
    FIRST_NODE = 4  # nodes are FIRST_NODE, FIRST_NODE + 1, ...


@cache
def devnet_account(index: int) -> LocalAccount:
    if not 0 <= index < ANVIL_ACCOUNTS:
        raise ValueError(f"devnet account index must be in [0, {ANVIL_ACCOUNTS}), got {index}")
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def node_account(n: int) -> LocalAccount:
    """The n-th devnet node (0-based)."""
    return devnet_account(Role.FIRST_NODE + n)
