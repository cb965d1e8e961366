"""`hydrogen task …` explains itself and refuses bad values before it looks for a network."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hydrogen.cli import cli

COMMANDS = ["run", "status", "watch", "download", "cancel"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_task_command_explains_itself_with_an_example(command: str | None) -> None:
    argv = ["task", command] if command else ["task"]
    result = CliRunner().invoke(cli, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    assert len(result.output.split("\n\n")[1].strip()) > 20
    assert "hydrogen task " in result.output.split("Options:")[0]


def run(tmp_path: Path, *argv: str) -> tuple[int, str]:
    # A devnet folder that does not exist: a refusal must come before it is looked for.
    missing = str(tmp_path / "no-devnet")
    result = CliRunner().invoke(cli, ["task", "run", "--dir", missing, *argv])
    return result.exit_code, result.output


def test_a_size_the_task_format_refuses_names_the_option_field_and_value(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--prompt", "a fox", "--size", "65x64", "--out", "o")
    assert code == 2
    assert "--size: task_config.image_width=65" in output
    assert "multiple of 8" in output
    assert "devnet" not in output


def test_a_size_that_is_not_w_x_h_is_refused_quoting_it(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--prompt", "a fox", "--size", "big", "--out", "o")
    assert code == 2
    assert "--size" in output and "'big' is not WIDTHxHEIGHT" in output


def test_a_fee_without_a_unit_is_refused(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--prompt", "a fox", "--fee", "0.01", "--out", "o")
    assert code == 2
    assert "'0.01' has no unit" in output


def test_sd_options_on_an_llm_task_are_refused_by_name(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--llm", "--message", "hi", "--steps", "2")
    assert code == 2
    assert "--steps" in output and "LLM task" in output


def test_an_sd_task_needs_an_out_folder(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--prompt", "a fox")
    assert code == 2
    assert "--out DIR" in output


def test_a_bad_field_of_an_args_file_names_the_file(tmp_path: Path) -> None:
    args = tmp_path / "task.json"
    args.write_text('{"base_model": "tiny-sd15", "prompt": "x", "task_config": {"stpes": 2}}')
    code, output = run(tmp_path, "--args", str(args), "--out", "o")
    assert code == 2
    assert f"--args {args}: task_config.stpes=2: unknown field" in output


def test_without_a_devnet_the_command_says_how_to_start_one(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--prompt", "a fox", "--out", "o")
    assert code == 1
    assert "hydrogen devnet up --network" in output
