"""`hydrogen devnet stop|start SERVICE` and the supervisor's lookup behind them, on devnets that
were never started (no service runs; nothing here starts one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hydrogen.cli import cli
from hydrogen.devnet.layout import DevnetState, Layout, Ports
from hydrogen.devnet.service import DevnetError
from hydrogen.devnet.supervisor import Devnet


def devnet(root: Path, nodes: int) -> Devnet:
    Layout(root).write_state(DevnetState(ports=Ports(), s3=False, nodes=nodes))
    return Devnet.open(root)


@pytest.mark.parametrize("name", ["kafka", "postgres", "anvil", "relay"])
def test_every_devnet_has_its_services_by_name(tmp_path: Path, name: str) -> None:
    assert devnet(tmp_path, nodes=0).named(name).name == name


def test_the_networks_apps_are_found_while_the_network_is_on(tmp_path: Path) -> None:
    net = devnet(tmp_path, nodes=3)
    assert net.named("inference").name == "inference"
    assert net.named("streams-worker").name == "streams-worker"


def test_a_network_app_of_a_devnet_without_the_network_says_how_to_turn_it_on(
    tmp_path: Path,
) -> None:
    with pytest.raises(DevnetError, match=r"inference .*up --network"):
        devnet(tmp_path, nodes=0).named("inference")


def test_an_unknown_name_is_named_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DevnetError, match=r"'bridge' .*bridge-ingest"):
        devnet(tmp_path, nodes=3).named("bridge")


def test_stopping_a_service_that_is_not_running_says_so(tmp_path: Path) -> None:
    devnet(tmp_path, nodes=3)
    result = CliRunner().invoke(cli, ["devnet", "stop", "events-project", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "events-project was not running" in result.output


@pytest.mark.parametrize("command", ["stop", "start"])
def test_stop_and_start_name_a_missing_devnet(tmp_path: Path, command: str) -> None:
    result = CliRunner().invoke(cli, ["devnet", command, "relay", "--dir", str(tmp_path / "no")])
    assert result.exit_code == 1
    assert "no devnet at" in result.output and "hydrogen devnet up" in result.output


def test_start_refuses_an_app_of_a_network_that_is_off(tmp_path: Path) -> None:
    devnet(tmp_path, nodes=0)
    result = CliRunner().invoke(cli, ["devnet", "start", "inference", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "up --network" in result.output


def test_stop_refuses_a_name_that_is_no_service(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["devnet", "stop", "models", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "'models' is not one of" in result.output
