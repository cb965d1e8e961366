"""Settings of the GPU consumer, from the environment (`HYDROGEN_INFERENCE_…`).

Read once by the entry point (`hydrogen inference run`) and passed in; nothing else reads the
environment. Lists are comma-separated. The node keys are secrets: they sign the node's
requests to the relay, and are never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from eth_account import Account
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from schemas.catalog import INFERENCE_JOBS, INFERENCE_RESULTS

GIB = 1 << 30


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYDROGEN_INFERENCE_", extra="forbid")

    kafka_bootstrap: str = "127.0.0.1:19092"
    group_id: str = Field(
        default="hydrogen.inference",
        description="Consumer group of every GPU consumer of this deployment (each must hold "
        "the keys of every node whose jobs the group reads).",
    )
    jobs_topic: str = INFERENCE_JOBS.name
    results_topic: str = INFERENCE_RESULTS.name
    relay_url: str = "http://127.0.0.1:18080"
    node_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Private keys (0x-hex) of the nodes this consumer runs."
    )
    model_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Folders holding local models, looked up by name."
    )
    download_dir: Path = Field(
        default=Path.home() / ".cache" / "hydrogen" / "models",
        description="Where models named by URL are downloaded.",
    )
    offline: bool = Field(
        default=False,
        validation_alias=AliasChoices("HYDROGEN_INFERENCE_OFFLINE", "HF_HUB_OFFLINE"),
        description="Never ask the hub or a URL: models must be cached or local.",
    )
    device: str = Field(default="auto", description="auto, cpu, cuda or cuda:N.")
    cache_budget_gib: float = Field(
        default=0.0, ge=0, description="Warm models kept, in GiB; 0: 80% of the device memory."
    )
    poll_s: float = Field(default=0.2, gt=0)
    session_timeout_ms: int = Field(default=45_000, ge=1_000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    max_poll_interval_ms: int = Field(default=300_000, ge=10_000)

    @field_validator("node_keys", "model_dirs", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("node_keys")
    @classmethod
    def _valid_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for i, key in enumerate(keys):
            try:
                Account.from_key(key.get_secret_value())
            except (ValueError, TypeError) as exc:
                # The key itself must not appear in the message.
                raise ValueError(f"node key #{i + 1} is not a private key: {type(exc).__name__}") from None  # fmt: skip
        return keys
