"""Entry point: read the settings from the environment, configure logs, run uvicorn."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

from relay_api.app import create_app
from relay_api.observability import configure_logging
from relay_api.settings import RelaySettings


def app_from_env() -> FastAPI:
    """For `uvicorn --factory relay_api.serve:app_from_env` (several workers)."""
    settings = RelaySettings()
    configure_logging(settings.log_json)
    return create_app(settings)


def serve(settings: RelaySettings, workers: int = 1) -> None:
    configure_logging(settings.log_json)
    logging.getLogger(__name__).info("relay listening on %s:%d", settings.host, settings.port)
    if workers > 1:
        # Workers import the app from the environment; the caller has set it.
        uvicorn.run(
            "relay_api.serve:app_from_env", factory=True, host=settings.host, port=settings.port,
            workers=workers, log_config=None, access_log=False, loop="uvloop", http="httptools",
        )  # fmt: skip
        return
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_config=None,
        access_log=False, loop="uvloop", http="httptools",
    )  # fmt: skip
