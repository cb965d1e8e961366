"""Settings of `chain_bridge.submit`, from the environment (`HYDROGEN_SUBMIT_…`).

Read once by the entry point (`hydrogen bridge submit`) and passed in; nothing else reads
the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chain_bridge.signers import KeyRing, from_keystore_dir, from_mnemonic
from schemas.catalog import CHAIN_TX_JOURNAL, CHAIN_TX_OUTCOMES, CHAIN_TX_REQUESTS

GWEI = 10**9


# The last of a task's discloses settles the task (compares the results, pays, slashes): it
# costs about 340k gas where the others cost about 80k. Discloses of one task are signed in
# one batch, each estimated before the others are mined, so each may turn out to be the last.
# Unused gas is not charged: a floor only raises the limit.
DEFAULT_GAS_FLOORS = {"TaskManager.disclose": 600_000}


class SubmitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYDROGEN_SUBMIT_", extra="forbid")

    kafka_bootstrap: str = "127.0.0.1:19092"
    rpc_url: str = "http://127.0.0.1:18545"  # the devnet's anvil
    deployment_file: Path = Path(".devnet/deployment.json")

    # One consumer group for all submitter instances. Each instance needs its own stable
    # `instance_id`: it is the static group member id and the transactional id, so a
    # restarted instance takes its predecessor's place at once and fences it.
    group_id: str = "hydrogen.submit"
    instance_id: str = "submit-0"
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000

    requests_topic: str = CHAIN_TX_REQUESTS.name
    outcomes_topic: str = CHAIN_TX_OUTCOMES.name
    journal_topic: str = CHAIN_TX_JOURNAL.name
    dlq_topic: str = CHAIN_TX_REQUESTS.dlq.name

    keystore_dir: Path | None = None
    keystore_password: SecretStr | None = None
    keystore_password_file: Path | None = None
    mnemonic: SecretStr | None = None
    mnemonic_accounts: int = Field(default=20, ge=1)

    confirmations: int = Field(default=0, ge=0, description="Blocks on top of a receipt.")
    gas_margin_percent: int = Field(default=20, ge=0)
    gas_floors: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_GAS_FLOORS),
        description="Least gas limit per `Contract.function` (JSON): for calls whose cost "
        "depends on transactions not mined when they are estimated.",
    )
    bump_after_s: float = Field(default=30.0, gt=0)
    fee_bump_percent: int = Field(default=15, ge=10)
    max_fee_per_gas_wei: int = Field(default=500 * GWEI, gt=0)
    max_in_flight: int = Field(default=64, ge=1, description="Per signer, before pausing.")
    recent_request_ids: int = Field(default=512, ge=1)
    batch_max: int = Field(default=200, ge=1)
    poll_s: float = Field(default=0.05, gt=0)

    @model_validator(mode="after")
    def _one_password(self) -> SubmitSettings:
        if self.keystore_password is not None and self.keystore_password_file is not None:
            raise ValueError("set keystore_password or keystore_password_file, not both")
        return self

    def key_ring(self) -> KeyRing:
        """Every key this submitter may sign with; none is an error, not an idle submitter."""
        ring = KeyRing()
        if self.keystore_dir is not None:
            if self.keystore_password_file is not None:
                password = self.keystore_password_file.read_text().rstrip("\n")
            elif self.keystore_password is not None:
                password = self.keystore_password.get_secret_value()
            else:
                raise ValueError(
                    "keystore_dir is set but neither HYDROGEN_SUBMIT_KEYSTORE_PASSWORD "
                    "nor HYDROGEN_SUBMIT_KEYSTORE_PASSWORD_FILE is"
                )
            ring = ring.merged(from_keystore_dir(self.keystore_dir, password))
        if self.mnemonic is not None:
            ring = ring.merged(
                from_mnemonic(self.mnemonic.get_secret_value(), self.mnemonic_accounts)
            )
        if not len(ring):
            raise ValueError(
                "no signing keys: set HYDROGEN_SUBMIT_KEYSTORE_DIR (with a password) "
                "or HYDROGEN_SUBMIT_MNEMONIC"
            )
        return ring

    def gas_limit(self, contract: str, function: str, estimate: int) -> int:
        """The gas limit of a call estimated at `estimate`: the margin on top, at least the
        call's floor."""
        with_margin = estimate * (100 + self.gas_margin_percent) // 100
        return max(with_margin, self.gas_floors.get(f"{contract}.{function}", 0))
