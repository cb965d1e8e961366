from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hydrogen.devnet.accounts import devnet_account, node_account
from hydrogen.devnet.layout import DevnetState, Layout, Ports
from hydrogen.devnet.network import nonce_secret
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


def test_a_state_written_before_the_network_existed_still_reads(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.write_state(DevnetState(ports=Ports(), s3=False))
    data = json.loads(layout.state_file.read_text())
    del data["nodes"], data["ports"]["streams_web"]
    layout.state_file.write_text(json.dumps(data))
    assert layout.read_state() == DevnetState(ports=Ports(), s3=False, nodes=0)


def test_up_network_keeps_its_node_count_for_later_ups(tmp_path: Path) -> None:
    Layout(tmp_path).write_state(DevnetState(ports=Ports(), s3=False))
    first = Devnet.open(tmp_path, nodes=5)
    first.layout.write_state(first.state)  # what `up` does first
    net = Devnet.open(tmp_path)
    assert net.state.nodes == 5
    assert [a.name for a in net.apps] == [
        "relay",
        "bridge-ingest",
        "bridge-submit",
        "events-project",
        "streams-worker",
        "inference",
    ]


def test_a_network_needs_enough_nodes_for_a_task(tmp_path: Path) -> None:
    with pytest.raises(DevnetError, match="got 2"):
        Devnet.open(tmp_path, nodes=2)
    with pytest.raises(DevnetError, match="got 17"):
        Devnet.open(tmp_path, nodes=17)


def test_the_nonce_secret_is_made_once_and_private(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    first = nonce_secret(layout)
    assert nonce_secret(layout) == first
    assert len(bytes.fromhex(first)) == 32
    assert stat.S_IMODE(layout.nonce_secret_file.stat().st_mode) == 0o600
