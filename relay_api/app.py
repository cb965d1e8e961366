"""The relay's ASGI app: `create_app(settings)`; everything it uses is built in its lifespan.

uvicorn --factory 'relay_api.serve:app_from_env'    or    hydrogen relay serve
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from relay_api.errors import RelayError
from relay_api.managed import OutcomeFollower
from relay_api.observability import RelayMetrics, RequestContext
from relay_api.routes import analytics, args, managed, ops, results, tasks
from relay_api.services import open_services, run_background
from relay_api.settings import RelaySettings
from relay_api.status_fast_path import StatusFastPath

log = logging.getLogger(__name__)

DESCRIPTION = """
The relay holds task arguments and result images while a task lives, and tells applications
what their tasks are doing.

**Auth.** Requests of chain accounts are signed (EIP-191) over method, path with query,
Unix-millisecond timestamp and body sha256 (`schemas/request_signing.py`), in the headers `X-Hydrogen-Address`,
`X-Hydrogen-Timestamp` and `X-Hydrogen-Signature`; ±60 s, each signature once. Managed mode
uses `Authorization: Bearer hk_...`.

**Errors** are `{"error": kind, "detail": what was wrong, ...}` with a 4xx status.
"""


def create_app(settings: RelaySettings, *, background: bool = True) -> FastAPI:
    """The relay app. `background=False` leaves out the delivery, retention and managed-mode
    jobs (tests that drive them by hand)."""
    metrics = RelayMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, metrics) as services:
            app.state.services = services
            follower = (
                OutcomeFollower(settings.kafka_bootstrap, services.codec, services.managed)
                if background
                else None
            )
            try:
                async with anyio.create_task_group() as tg:
                    if background:
                        tg.start_soon(run_background, services, follower)
                    log.info("relay serving chain %d", services.chain_id)
                    yield
                    tg.cancel_scope.cancel()
            finally:
                if follower is not None:
                    await anyio.to_thread.run_sync(follower.close)
                # Drop the Kafka clients with the app's state: a closed app must not keep
                # reconnecting to a broker that went away.
                app.state.services = None

    app = FastAPI(
        title="Hydrogen relay",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.metrics = metrics
    for module in (args, results, tasks, analytics, managed, ops):
        app.include_router(module.router)
    app.add_exception_handler(RelayError, _relay_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(StatusFastPath)
    app.add_middleware(RequestContext, metrics=metrics)
    return app


async def _relay_error(_: Request, exc: RelayError) -> JSONResponse:
    if exc.status >= 500:
        log.warning("%s: %s", exc.kind, exc.detail)
    headers = {}
    if "retry_after_s" in exc.extra:
        headers["Retry-After"] = str(max(1, round(exc.extra["retry_after_s"])))
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 and isinstance(value, str | int | float | None) else text[:80]


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = ".".join(str(p) for p in first.get("loc", ()))
    value = _short(first.get("input"))
    return JSONResponse(
        {
            "error": "unprocessable",
            "detail": f"{field}={value!r}: {first.get('msg')}",
            "field": field,
            "value": value,
            "errors": [
                {"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg")}
                for e in errors
            ],
        },
        status_code=422,
    )


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse(
        {"error": "http", "detail": str(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )
