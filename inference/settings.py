"""Settings of the GPU consumer, from the environment (`HYDROGEN_INFERENCE_…`).

Read once by the entry point (`hydrogen inference run`) and passed in; nothing else reads the
environment. Lists are comma-separated. The node keys are secrets: they sign the node's
requests to the relay, and are never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from eth_account import Account
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from schemas.catalog import INFERENCE_JOBS, INFERENCE_RESULTS

GIB = 1 << 30
SHARED_GROUP_ID = "hydrogen.inference"


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYDROGEN_INFERENCE_", extra="forbid")

    kafka_bootstrap: str = "127.0.0.1:19092"
    group_id: str = Field(
        default=SHARED_GROUP_ID,
        description="Consumer group of the GPU consumers that share the jobs. The default, "
        "shared group needs every member to hold every node's key; an operator whose "
        "consumers hold only its own nodes gives them a group of its own and only_own_nodes.",
    )
    only_own_nodes: bool = Field(
        default=False,
        description="Skip (commit past, no dead letter) the jobs of nodes this consumer holds "
        "no key for: they belong to another operator, whose consumers read inference.jobs in "
        "their own group. Needs a group_id other than the shared one.",
    )
    jobs_topic: str = INFERENCE_JOBS.name
    results_topic: str = INFERENCE_RESULTS.name
    relay_url: str = "http://127.0.0.1:18080"
    relay_wait_s: float = Field(
        default=60.0,
        ge=0,
        description="How long a job waits for its task's arguments to be put on the relay "
        "(the creator puts them once the task exists, often after its nodes first ask) and "
        "for an unreachable relay to come back, before it reports ARGS_UNAVAILABLE.",
    )
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

    @model_validator(mode="after")
    def _own_group_for_own_nodes(self) -> InferenceSettings:
        if self.only_own_nodes and self.group_id == SHARED_GROUP_ID:
            # Members of one group split the partitions: a member skipping the jobs it holds
            # no key for would drop them for the members that do.
            raise ValueError(
                f"only_own_nodes needs a consumer group of this operator's own, not the shared "
                f"group {self.group_id!r}: set HYDROGEN_INFERENCE_GROUP_ID (--group-id)"
            )
        return self
