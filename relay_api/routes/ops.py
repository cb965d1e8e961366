"""Operations: liveness, readiness (Postgres, object store, Kafka, chain), metrics."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from confluent_kafka.admin import AdminClient
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from relay_api.routes.deps import ServicesDep
from relay_api.services import Services
from schemas.catalog import CHAIN_TX_REQUESTS, TASKS_HISTORY

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT_S = 3.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _postgres(s: Services) -> str:
    async with s.pool.connection(timeout=CHECK_TIMEOUT_S) as conn:
        await conn.execute("SELECT 1 FROM relay_blobs LIMIT 1")
    return "ok"


async def _object_store(s: Services) -> str:
    await anyio.to_thread.run_sync(s.store.exists, "readyz")
    return "ok"


async def _kafka(s: Services) -> str:
    def topics() -> set[str]:
        admin = AdminClient({"bootstrap.servers": s.settings.kafka_bootstrap})
        return set(admin.list_topics(timeout=CHECK_TIMEOUT_S).topics)

    found = await anyio.to_thread.run_sync(topics)
    missing = {CHAIN_TX_REQUESTS.name, TASKS_HISTORY.name} - found
    if missing:
        raise RuntimeError(f"topics missing: {', '.join(sorted(missing))}")
    return "ok"


async def _chain(s: Services) -> str:
    return f"ok, block {await s.chain.ping()}"


@router.get("/readyz", summary="Postgres, object store, Kafka and the chain are reachable")
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, Any] = {}

    async def run(name: str, check: Any) -> None:
        try:
            with anyio.fail_after(CHECK_TIMEOUT_S + 1):
                checks[name] = await check(services)
        except Exception as exc:  # readiness reports any failure, whatever its type
            checks[name] = f"failed: {type(exc).__name__}: {exc}"

    async with anyio.create_task_group() as tg:
        for name, check in (
            ("postgres", _postgres),
            ("object_store", _object_store),
            ("kafka", _kafka),
            ("chain", _chain),
        ):
            tg.start_soon(run, name, check)
    ready = all(str(v).startswith("ok") for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
