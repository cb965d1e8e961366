from __future__ import annotations

import pytest

from chain_bridge.submit_settings import SubmitSettings
from hydrogen.devnet.accounts import ANVIL_MNEMONIC


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> SubmitSettings:
    monkeypatch.delenv("HYDROGEN_SUBMIT_GAS_FLOORS", raising=False)
    return SubmitSettings(mnemonic=ANVIL_MNEMONIC)


def test_a_call_gets_its_estimate_with_the_margin(settings: SubmitSettings) -> None:
    assert settings.gas_limit("TaskManager", "submitCommitment", 100_000) == 120_000


def test_a_disclose_gets_at_least_what_settling_the_task_costs(settings: SubmitSettings) -> None:
    # Estimated before the other discloses were mined, the last one would run out of gas.
    assert settings.gas_limit("TaskManager", "disclose", 82_506) == 600_000
    assert settings.gas_limit("TaskManager", "disclose", 900_000) == 1_080_000


def test_floors_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDROGEN_SUBMIT_GAS_FLOORS", '{"NodeRegistry.quit": 250000}')
    settings = SubmitSettings(mnemonic=ANVIL_MNEMONIC)
    assert settings.gas_limit("NodeRegistry", "quit", 1_000) == 250_000
    assert settings.gas_limit("TaskManager", "disclose", 1_000) == 1_200  # replaced, not merged
