"""Which jobs a GPU consumer runs, skips or dead-letters, and the settings that choose the mode."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from hydrogen.cli import cli
from inference.consumer import JobRoute, route_job
from inference.settings import SHARED_GROUP_ID, InferenceSettings

OURS = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
THEIRS = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
HELD = frozenset({OURS.lower()})


@pytest.mark.parametrize("only_own_nodes", [False, True])
def test_a_job_of_a_held_node_runs_in_either_mode(only_own_nodes: bool) -> None:
    assert route_job(OURS, HELD, only_own_nodes) is JobRoute.RUN


def test_the_node_address_is_matched_whatever_its_case() -> None:
    assert route_job(OURS.upper().replace("0X", "0x"), HELD, False) is JobRoute.RUN


def test_in_the_shared_group_a_job_nobody_holds_is_dead_lettered() -> None:
    assert route_job(THEIRS, HELD, only_own_nodes=False) is JobRoute.DEAD_LETTER


def test_in_an_operators_own_group_another_operators_job_is_skipped() -> None:
    assert route_job(THEIRS, HELD, only_own_nodes=True) is JobRoute.SKIP


def test_a_consumer_holding_no_key_skips_everything_in_its_own_group() -> None:
    assert route_job(OURS, frozenset(), only_own_nodes=True) is JobRoute.SKIP


def test_only_own_nodes_in_the_shared_group_is_refused_with_the_group_named() -> None:
    with pytest.raises(ValidationError, match=repr(SHARED_GROUP_ID)):
        InferenceSettings(only_own_nodes=True)


def test_only_own_nodes_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDROGEN_INFERENCE_ONLY_OWN_NODES", "1")
    monkeypatch.setenv("HYDROGEN_INFERENCE_GROUP_ID", "operator-a")
    settings = InferenceSettings()
    assert settings.only_own_nodes and settings.group_id == "operator-a"


def test_the_default_stays_the_shared_group_that_dead_letters() -> None:
    settings = InferenceSettings()
    assert settings.group_id == SHARED_GROUP_ID and not settings.only_own_nodes


def test_the_cli_refuses_two_ways_of_picking_devnet_nodes() -> None:
    result = CliRunner().invoke(
        cli, ["inference", "run", "--devnet-nodes", "3", "--devnet-node", "1"]
    )
    assert result.exit_code == 2
    assert "--devnet-nodes 3 and --devnet-node 1" in result.output


def test_the_cli_names_a_devnet_node_index_out_of_range() -> None:
    result = CliRunner().invoke(cli, ["inference", "run", "--devnet-node", "99"])
    assert result.exit_code == 2
    assert "99 is not in the range" in result.output


def test_the_cli_refuses_only_own_nodes_without_a_group_and_shows_no_key() -> None:
    result = CliRunner().invoke(cli, ["inference", "run", "--devnet-node", "0", "--only-own-nodes"])
    assert result.exit_code == 1
    assert "--group-id" in result.output and repr(SHARED_GROUP_ID) in result.output
    from hydrogen.devnet.accounts import node_account  # noqa: PLC0415

    key = node_account(0).key.hex().removeprefix("0x")
    assert key[-12:] not in result.output
