"""`hydrogen node …` without services: help with examples, and every refusal that comes
before anything is asked of Kafka or the chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hydrogen.cli import cli

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
COMMANDS = ["join", "add-stake", "pause", "resume", "quit", "status"]
JOIN = ["node", "join", "--node", NODE, "--gpu-name", "RTX 4090", "--vram", "24"]


def run(*argv: str, root: Path) -> tuple[int, str]:
    # A devnet folder that does not exist: a check that reached for Kafka or the chain would
    # fail on that instead of on the value under test.
    result = CliRunner().invoke(cli, [*argv, "--dir", str(root / "no-devnet")])
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_the_group_and_each_command_explain_themselves_with_an_example(command: str) -> None:
    argv = ["node", command, "--help"] if command else ["node", "--help"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    summary = result.output.split("\n\n")[1].strip()
    assert len(summary) > 20
    assert "hydrogen node " in result.output.split("Options:")[0]  # an example


def test_a_bad_model_id_is_refused_naming_it(tmp_path: Path) -> None:
    code, out = run(*JOIN, "--model", "base:tiny-sd15", "--model", "sd15", root=tmp_path)
    assert code == 2
    assert "Invalid value for '--model': 'sd15': not a model id" in out


def test_a_stake_that_is_no_amount_is_refused_naming_it(tmp_path: Path) -> None:
    code, out = run(*JOIN, "--model", "base:a", "--stake", "400 dollars", root=tmp_path)
    assert code == 2
    assert "'--stake': '400 dollars': unknown unit 'dollars'" in out


def test_a_node_address_with_a_broken_checksum_is_refused(tmp_path: Path) -> None:
    typo = NODE[:-1] + "7"
    code, out = run("node", "pause", "--node", typo, root=tmp_path)
    assert code == 2
    assert f"Invalid value for '--node': {typo!r}: wrong EIP-55 checksum" in out


@pytest.mark.parametrize(
    "which", [[], ["--node", NODE, "--devnet-node", "1"]], ids=["neither", "both"]
)
def test_the_node_is_named_exactly_once(which: list[str], tmp_path: Path) -> None:
    code, out = run("node", "quit", *which, root=tmp_path)
    assert code == 2
    assert "one of --node ADDRESS or --devnet-node N" in out


def test_a_devnet_node_beyond_the_devnet_accounts_is_refused(tmp_path: Path) -> None:
    code, out = run("node", "resume", "--devnet-node", "16", root=tmp_path)
    assert code == 2
    assert "'--devnet-node': 16 is not in the range 0<=x<=15" in out


def test_a_foreign_request_id_is_refused(tmp_path: Path) -> None:
    code, out = run("node", "pause", "--node", NODE, "--request-id", "31337:5:x", root=tmp_path)
    assert code == 2
    assert "'--request-id': '31337:5:x': must start with 'cli:'" in out


def test_a_top_up_of_nothing_is_refused(tmp_path: Path) -> None:
    code, out = run("node", "add-stake", "--node", NODE, "--amount", "0", root=tmp_path)
    assert code == 2
    assert "'--amount': '0': a top-up must be more than 0" in out


def test_without_a_devnet_or_options_it_says_what_to_pass(tmp_path: Path) -> None:
    code, out = run("node", "pause", "--node", NODE, root=tmp_path)
    assert code == 1
    assert "no Kafka to publish to: pass --bootstrap" in out
    assert str(tmp_path / "no-devnet") in out


def test_status_without_a_deployment_says_what_to_pass(tmp_path: Path) -> None:
    code, out = run("node", "status", "--node", NODE, root=tmp_path)
    assert code == 1
    assert "no deployment record: pass --deployment FILE" in out
