"""Settings of the Postgres projector, from the environment (HYDROGEN_PROJECTOR_...)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProjectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYDROGEN_PROJECTOR_")

    kafka_bootstrap: str = "127.0.0.1:19092"
    pg_dsn: str = Field(
        default="postgresql://hydrogen@127.0.0.1:15432/hydrogen",
        description="The database holding the projection (migrated: `hydrogen db migrate`).",
    )
    consumer: str = Field(
        default="postgres-projector",
        min_length=1,
        description="Name under which the projector's positions are kept in projection_offsets.",
    )
    batch_size: int = Field(
        default=500, ge=1, description="Messages per Postgres transaction, at most."
    )
    poll_timeout: float = Field(
        default=1.0, gt=0, description="Seconds to wait for messages when there are none."
    )
