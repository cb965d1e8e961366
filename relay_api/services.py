"""The relay's collaborators, built once from its settings (the one wiring function) and
closed in reverse order; `create_app`'s lifespan holds them for the app's life."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from psycopg_pool import AsyncConnectionPool

from relay_api.auth import ApiKeyAuth, RateLimiter, SignatureAuth
from relay_api.blob_index import BlobIndex
from relay_api.blobstore import BlobStore, FilesystemBlobStore, S3BlobStore
from relay_api.chain_reader import ChainReader, Deployment
from relay_api.content_store import ContentStore
from relay_api.delivery import Deliveries
from relay_api.errors import RelayError
from relay_api.history_stream import HistoryStream
from relay_api.managed import ManagedTasks, OutcomeFollower
from relay_api.observability import RelayMetrics
from relay_api.retention import Retention
from relay_api.settings import RelaySettings, StoreKind
from relay_api.task_directory import TaskDirectory
from relay_api.tx_requests import TxRequester
from schemas.codec import Codec

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: RelaySettings
    metrics: RelayMetrics
    pool: AsyncConnectionPool[Any]
    store: BlobStore
    content: ContentStore
    blobs: BlobIndex
    chain: ChainReader
    directory: TaskDirectory
    signatures: SignatureAuth
    api_keys: ApiKeyAuth
    requester: TxRequester
    deliveries: Deliveries
    retention: Retention
    history: HistoryStream
    managed: ManagedTasks
    codec: Codec

    @property
    def chain_id(self) -> int:
        return self.chain.deployment.chain_id


def blob_store(settings: RelaySettings) -> BlobStore:
    if settings.store is StoreKind.S3:
        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        return S3BlobStore(
            settings.s3_endpoint,
            settings.s3_bucket,
            settings.s3_access_key.get_secret_value(),
            settings.s3_secret_key.get_secret_value(),
        )
    return FilesystemBlobStore(settings.blob_dir)


@contextlib.asynccontextmanager
async def open_services(settings: RelaySettings, metrics: RelayMetrics) -> AsyncIterator[Services]:
    deployment = Deployment.load(settings.deployment_file)
    codec = Codec()
    # The pool connects in the background: the relay starts (and says so on /readyz) while
    # Postgres is still coming up.
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        settings.pg_dsn, min_size=1, max_size=settings.pg_pool_size, open=False, timeout=10
    )
    await pool.open(wait=False)
    store = blob_store(settings)
    content = ContentStore(store)
    blobs = BlobIndex(pool, content, settings.blob_max_age_s)
    chain = ChainReader(settings.rpc_url, deployment)
    requester = TxRequester(settings.kafka_bootstrap, codec)
    try:
        yield Services(
            settings=settings,
            metrics=metrics,
            pool=pool,
            store=store,
            content=content,
            blobs=blobs,
            chain=chain,
            directory=TaskDirectory(pool, chain, settings.status_cache_s),
            signatures=SignatureAuth(pool, settings.signature_window_s),
            api_keys=ApiKeyAuth(pool, RateLimiter()),
            requester=requester,
            deliveries=Deliveries(pool, blobs, chain, requester, settings.relay_address),
            retention=Retention(pool, blobs, deployment.chain_id, settings.retention_s),
            history=HistoryStream(settings.kafka_bootstrap, codec),
            managed=ManagedTasks(
                pool, blobs, chain, requester, settings.relay_address, settings.managed_fee_wei
            ),
            codec=codec,
        )
    finally:
        await anyio.to_thread.run_sync(requester.close)
        await pool.close()


async def _every(interval_s: float, name: str, step: Callable[[], Awaitable[Any]]) -> None:
    """Run `step` forever, `interval_s` apart; an error is logged and the loop goes on."""
    while True:
        try:
            await step()
        except (RelayError, OSError, Exception) as exc:  # a background job must not die
            log.warning("%s failed: %s", name, exc)
        await anyio.sleep(interval_s)


async def run_background(services: Services, follower: OutcomeFollower | None) -> None:
    """The relay's jobs: deliver validated tasks, sweep old blobs, follow managed requests."""

    async def deliver_pending() -> None:
        for task_id in await services.deliveries.pending():
            facts = await services.directory.facts(task_id)
            if await services.deliveries.try_deliver(facts):
                services.metrics.deliveries.inc()

    async def sweep() -> None:
        swept = await services.retention.sweep()
        services.metrics.retention_deleted.inc(swept.rows)

    s = services.settings
    async with anyio.create_task_group() as tg:
        tg.start_soon(_every, s.delivery_interval_s, "delivery", deliver_pending)
        tg.start_soon(_every, s.retention_interval_s, "retention", sweep)
        if follower is not None:
            tg.start_soon(_every, 0.05, "managed outcomes", follower.step)
