"""`hydrogen events tail` and `hydrogen events export`: help, and values refused before
anything is read (no Kafka or Postgres is asked)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hydrogen.cli import cli

NO_SERVICE_ENV = {"HYDROGEN_KAFKA_BOOTSTRAP": None, "HYDROGEN_PG_DSN": None}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["events", *args], env=NO_SERVICE_ENV)


@pytest.mark.parametrize("command", ["tail", "export"])
def test_the_commands_explain_themselves(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert len(result.output.split("\n\n")[1].strip()) > 20


def test_tail_refuses_a_topic_not_in_the_catalog_listing_the_known_ones() -> None:
    result = run("tail", "chain.tasks")
    assert result.exit_code == 2
    assert "no topic 'chain.tasks' in the catalog" in result.output
    assert "chain.task-events" in result.output
    assert "tasks.history" in result.output


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--task", "seventeen", "not a task id"),
        ("--node", "0x1234", "not an address"),
        ("--limit", "0", "0 is not in the range x>=1"),
    ],
)
def test_tail_refuses_a_bad_filter_naming_option_and_value(
    option: str, value: str, reason: str
) -> None:
    result = run("tail", "chain.task-events", option, value, "--bootstrap", "127.0.0.1:1")
    assert result.exit_code == 2
    assert f"'{option}'" in result.output
    assert value in result.output
    assert reason in result.output


def test_tail_without_kafka_or_a_devnet_says_what_to_pass(tmp_path: Path) -> None:
    result = run("tail", "tasks.history", "--dir", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "pass --bootstrap (or HYDROGEN_KAFKA_BOOTSTRAP)" in result.output
    assert str(tmp_path / "none") in result.output


def _export(tmp_path: Path, *args: str) -> Result:
    return run(
        "export", "--format", "csv", "--output", str(tmp_path / "out.csv"),
        "--dir", str(tmp_path / "none"), *args,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (("--since", "last tuesday"), "--since", "last tuesday"),
        (("--since", "1d", "--until", "3d"), "--until", "3d"),
        (("--since", "2026-03-01", "--until", "2026-02-30"), "--until", "2026-02-30"),
    ],
)
def test_export_refuses_a_bad_time_naming_it(
    tmp_path: Path, args: tuple[str, ...], option: str, value: str
) -> None:
    result = _export(tmp_path, *args)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': '{value}'" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_export_refuses_an_unknown_format_and_kind(tmp_path: Path) -> None:
    result = run("export", "--since", "1h", "--format", "xlsx", "--output", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "'xlsx' is not one of 'parquet', 'csv'" in result.output
    result = _export(tmp_path, "--since", "1h", "--what", "tasks")
    assert result.exit_code == 2
    assert "'tasks' is not one of 'task-history', 'task-events', 'node-events'" in result.output


def test_export_without_postgres_or_a_devnet_says_what_to_pass(tmp_path: Path) -> None:
    result = _export(tmp_path, "--since", "1h")
    assert result.exit_code == 1
    assert "pass --dsn (or HYDROGEN_PG_DSN)" in result.output
