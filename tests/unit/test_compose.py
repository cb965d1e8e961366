"""docker-compose.yml is checked here since no Docker engine runs on our machines."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from hydrogen.cli import cli

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|PRIVATE|TOKEN|DSN", re.IGNORECASE)
FROM_ENV = re.compile(r"^\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}$")


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_an_image_or_a_build(name: str) -> None:
    service = SERVICES[name]
    assert "image" in service or "build" in service
    if "build" in service:
        context = (
            service["build"] if isinstance(service["build"], str) else service["build"]["context"]
        )
        assert (REPO_ROOT / context / "Dockerfile").is_file()


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if s.get("ports")))
def test_every_serving_service_has_a_healthcheck(name: str) -> None:
    check = SERVICES[name].get("healthcheck", {})
    assert check.get("test"), f"{name} publishes ports but has no healthcheck"


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if s.get("ports")))
def test_published_ports_bind_loopback_only(name: str) -> None:
    for port in SERVICES[name]["ports"]:
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def _holds_literal_secret(value: str) -> bool:
    if FROM_ENV.match(value):
        return False
    password = re.search(r"://[^:/@]+:([^@]+)@", value)  # a URL with user:password@
    if password:
        return not FROM_ENV.match(password.group(1))
    return "${" not in value


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_no_secret_is_written_in_the_file(name: str) -> None:
    for key, value in _env(SERVICES[name]).items():
        if SECRET_NAME.search(key):
            assert not _holds_literal_secret(value), f"{name}.{key} holds a literal secret"


def test_the_secret_check_catches_literals() -> None:
    assert _holds_literal_secret("hunter2")
    assert _holds_literal_secret("postgresql://u:hunter2@db/x")
    assert not _holds_literal_secret("postgresql://u:${PW:?set PW}@db/x")
    assert not _holds_literal_secret("${SECRET:?set it}")


def test_dependencies_wait_for_health_of_services_that_have_one() -> None:
    for name, service in SERVICES.items():
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            if cond.get("condition") == "service_healthy":
                assert SERVICES[dep].get("healthcheck"), (
                    f"{name} waits for {dep}, which has no healthcheck"
                )


def _hydrogen_invocations(service: dict) -> list[list[str]]:
    command = service.get("command", [])
    text = " ".join(command) if isinstance(command, list) else str(command)
    calls = []
    for part in re.split(r"&&|;|\|\|", text):
        words = shlex.split(part)
        if words and words[0] == "hydrogen":
            calls.append(words[1:])
    if service.get("entrypoint") in (None, ["hydrogen"]) and isinstance(command, list):
        calls.append(command)
    return calls


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if "build" in s))
def test_component_services_run_real_cli_commands(name: str) -> None:
    calls = _hydrogen_invocations(SERVICES[name])
    assert calls, f"{name} runs no hydrogen command"
    for argv in calls:
        ctx = cli.make_context("hydrogen", list(argv), resilient_parsing=True)
        group: click.Command = cli
        words = [w for w in argv if not w.startswith("-")]
        while isinstance(group, click.Group) and words:
            nxt = group.get_command(ctx, words.pop(0))
            assert nxt is not None, f"{name}: `hydrogen {' '.join(argv)}` is not a command"
            group = nxt
        assert not isinstance(group, click.Group), (
            f"{name}: `hydrogen {' '.join(argv)}` names a group"
        )


def test_images_are_pinned_to_a_version_or_channel() -> None:
    for name, service in SERVICES.items():
        if "image" in service:
            assert ":" in service["image"] and not service["image"].endswith(":latest"), name
