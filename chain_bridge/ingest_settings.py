"""Settings of the log ingest, from the environment (HYDROGEN_INGEST_...)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYDROGEN_INGEST_")

    kafka_bootstrap: str = "127.0.0.1:19092"
    rpc_url: str = "http://127.0.0.1:18545"
    deployment_file: Path = Field(
        default=Path(".devnet/deployment.json"),
        description="Deployment record: addresses and ABIs of the contracts to ingest.",
    )
    confirmations: int = Field(default=0, ge=0, description="Publish a block only this deep.")
    start_block: int | None = Field(
        default=None,
        ge=0,
        description="Where a fresh ingest starts; default: the deployment block.",
    )
    range_blocks: int = Field(default=2_000, ge=1, description="Blocks per eth_getLogs call.")
    window_blocks: int = Field(
        default=64, ge=1, description="Recent blocks remembered to detect and undo reorgs."
    )
    poll_seconds: float = Field(default=0.2, gt=0, description="Wait at the head between polls.")
