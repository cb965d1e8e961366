from __future__ import annotations

import pytest
from click.testing import CliRunner

from hydrogen.cli import cli

COMMANDS = [
    [],
    ["devnet"],
    ["devnet", "up"],
    ["devnet", "status"],
    ["devnet", "down"],
    ["devnet", "logs"],
    ["devnet", "reset"],
    ["devnet", "smoke"],
    ["topics", "create"],
    ["db", "migrate"],
    ["contracts", "build"],
    ["contracts", "deploy"],
    ["contracts", "gas-report"],
    ["bridge", "ingest"],
    ["bridge", "submit"],
    ["schemas", "check"],
    ["schemas", "sync"],
    ["events", "project"],
    ["events", "replay"],
    ["streams", "worker"],
    ["demo"],
    ["devnet", "stop"],
    ["devnet", "start"],
    ["inference", "run"],
    ["events", "tail"],
    ["events", "export"],
    ["task"],
    ["task", "run"],
    ["task", "status"],
    ["task", "watch"],
    ["task", "download"],
    ["task", "cancel"],
    ["node"],
    ["node", "join"],
    ["node", "pause"],
    ["node", "resume"],
    ["node", "quit"],
    ["node", "add-stake"],
    ["node", "status"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "hydrogen")
def test_every_command_explains_itself(argv: list[str]) -> None:
    result = CliRunner().invoke(cli, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    # The first line of the help is a sentence, not an empty docstring.
    summary = result.output.split("\n\n")[1].strip()
    assert len(summary) > 20


def test_status_of_a_missing_devnet_says_how_to_start_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["devnet", "status", "--dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "hydrogen devnet up" in result.output
