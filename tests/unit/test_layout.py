from __future__ import annotations

from pathlib import Path

import pytest

from hydrogen.devnet.accounts import devnet_account, node_account
from hydrogen.devnet.layout import DevnetState, Layout, Ports
from hydrogen.devnet.service import DevnetError
from hydrogen.devnet.supervisor import Devnet


def test_free_ports_are_distinct() -> None:
    ports = Ports.free()
    values = list(vars(ports).values())
    assert len(set(values)) == len(values)


def test_state_round_trips_through_json(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    state = DevnetState(ports=Ports.free(), s3=True)
    layout.write_state(state)
    assert layout.read_state() == state


def test_a_devnet_keeps_the_backend_of_its_first_up(tmp_path: Path) -> None:
    Layout(tmp_path).write_state(DevnetState(ports=Ports(), s3=False))
    with pytest.raises(DevnetError, match=r"stores blobs in the filesystem.*reset"):
        Devnet.open(tmp_path, s3=True)


def test_devnet_accounts_are_anvils_well_known_ones() -> None:
    # anvil's first account for the test mnemonic, as anvil prints it at start.
    assert devnet_account(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert node_account(0).address == devnet_account(4).address


def test_an_out_of_range_account_index_is_named() -> None:
    with pytest.raises(ValueError, match="got 20"):
        devnet_account(20)
