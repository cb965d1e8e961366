"""Settings of the streams app, from the environment (HYDROGEN_STREAMS_...).

Only the entry point (`hydrogen streams worker`) builds them; `create_app` takes them as an
argument. Addresses are lists separated by commas (`0xA...,0xB...`) and are checksummed here,
so the saga compares them with the checksummed addresses the chain records carry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from web3 import Web3


def _checksummed(value: str) -> str:
    try:
        return str(Web3.to_checksum_address(value.strip()))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an address: {exc}") from exc


class StreamsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYDROGEN_STREAMS_")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092", description="host:port[,host:port...] of the Kafka brokers."
    )
    app_id: str = Field(
        default="hydrogen-streams",
        min_length=1,
        description="faust app id: the consumer group and the prefix of the changelog topics.",
    )
    node_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="The nodes this deployment operates (comma-separated)."
    )
    keeper_address: str = Field(description="The account that signs the keeper's expire calls.")
    nonce_secret: SecretStr = Field(
        description="HMAC key of the commitment nonces (at least 16 bytes); keep it secret."
    )
    web_host: str = Field(default="127.0.0.1", description="The worker's web server binds here.")
    web_port: int = Field(default=6066, ge=1, le=65535)
    data_dir: Path = Field(
        default=Path(".devnet/streams"), description="faust's data directory (table state)."
    )
    tick_seconds: float = Field(
        default=1.0, gt=0, description="How often the deadline keeper is given the time."
    )
    producer_linger_ms: int = Field(
        default=5, ge=0, description="How long the producer waits to fill a batch."
    )
    producer_max_batch_bytes: int = Field(default=256 * 1024, ge=1024)
    resend_window_seconds: float = Field(
        default=300.0,
        gt=0,
        description="After recovering its tables, a worker sends again the outputs of tasks "
        "that changed this recently (a crash may have lost them); far above the commit interval.",
    )
    session_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Kafka group session timeout: how fast a dead worker's "
        "partitions move to another one.",
    )  # fmt: skip

    @field_validator("node_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(",") if part.strip()]
        return value

    @field_validator("node_addresses")
    @classmethod
    def _checksum_nodes(cls, value: list[str]) -> list[str]:
        return [_checksummed(v) for v in value]

    @field_validator("keeper_address")
    @classmethod
    def _checksum_keeper(cls, value: str) -> str:
        return _checksummed(value)

    @field_validator("nonce_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        n = len(value.get_secret_value().encode())
        if n < 16:
            raise ValueError(f"the nonce secret must have at least 16 bytes, got {n}")
        return value

    @property
    def broker_urls(self) -> list[str]:
        return [f"kafka://{hp.strip()}" for hp in self.kafka_bootstrap.split(",") if hp.strip()]
