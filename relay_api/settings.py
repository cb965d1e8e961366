"""Settings of the relay, from the environment (`HYDROGEN_RELAY_…`).

Read once by the entry point (`hydrogen relay serve`, the devnet) and passed to
`create_app(settings)`; nothing else reads the environment.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class StoreKind(StrEnum):
    FILESYSTEM = "filesystem"
    S3 = "s3"


class RelaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYDROGEN_RELAY_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=18080, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="How clients reach this relay (printed by the devnet)."
    )

    pg_dsn: str = "postgresql://hydrogen@127.0.0.1:15432/hydrogen"
    pg_pool_size: int = Field(default=8, ge=1)
    kafka_bootstrap: str = "127.0.0.1:19092"
    rpc_url: str = "http://127.0.0.1:18545"
    deployment_file: Path = Path(".devnet/deployment.json")

    store: StoreKind = StoreKind.FILESYSTEM
    blob_dir: Path = Path(".devnet/blobs")
    s3_endpoint: str | None = None
    s3_bucket: str = "hydrogen"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    # Downloads from S3 are redirected to a presigned URL valid this long, so big images
    # never pass through Python; 0 streams them through the relay instead.
    s3_presign_s: int = Field(default=0, ge=0)

    max_args_bytes: int = Field(default=1 * MIB, gt=0)
    max_image_bytes: int = Field(default=20 * MIB, gt=0)
    max_images: int = Field(default=16, ge=1, description="Images per task, at most.")
    download_chunk_bytes: int = Field(default=4 * MIB, ge=64 * 1024)

    signature_window_s: int = Field(default=60, ge=1)
    # Ended tasks' blobs are deleted this long after the end; others at latest after
    # `blob_max_age_s` (a backstop for tasks the read model never sees end).
    retention_s: int = Field(default=7 * 24 * 3600, ge=0)
    blob_max_age_s: int = Field(default=30 * 24 * 3600, gt=0)
    retention_interval_s: float = Field(default=600.0, gt=0)
    delivery_interval_s: float = Field(
        default=0.25,
        gt=0,
        description="How often validated tasks are looked for to deliver: one indexed query, "
        "and on the path of every task from validated to paid.",
    )
    status_cache_s: float = Field(
        default=0.5, ge=0, description="How long a task's status may be served from memory."
    )

    # The relay's own chain account: it confirms uploads (`onlyRelay`) and is the custodial
    # wallet of managed mode. Its key stays with chain_bridge.submit; only the address here.
    relay_address: str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    managed_fee_wei: int = Field(default=10**16, gt=0)
    managed_default_rate_per_minute: int = Field(default=60, gt=0)

    log_json: bool = True

    @model_validator(mode="after")
    def _s3_complete(self) -> RelaySettings:
        if self.store is StoreKind.S3 and not (
            self.s3_endpoint and self.s3_access_key and self.s3_secret_key
        ):
            raise ValueError(
                "store=s3 needs HYDROGEN_RELAY_S3_ENDPOINT, HYDROGEN_RELAY_S3_ACCESS_KEY "
                "and HYDROGEN_RELAY_S3_SECRET_KEY"
            )
        return self
