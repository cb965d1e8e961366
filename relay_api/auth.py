"""Who is calling: a chain account that signed the request, or an API key of managed mode.

Signatures follow `schemas.request_signing`. Each is accepted once: its bytes go into
`relay_used_signatures` before the request has any effect, with an expiry past the timestamp
window (after which the timestamp check alone refuses it), so the table stays small.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request

from relay_api.errors import Forbidden, RateLimited, Unauthenticated
from schemas.request_signing import SignatureInvalid, verify_request

API_KEY_PREFIX = "hk_"


@dataclass(frozen=True)
class Caller:
    """A chain account (`address`) or an API key (`api_key_id`); exactly one is set."""

    address: str | None = None
    api_key_id: int | None = None

    def __str__(self) -> str:
        return self.address or f"api-key:{self.api_key_id}"


def signed_path(request: Request) -> str:
    """The path and query exactly as the client sent them: what it signed."""
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    query: bytes = request.scope.get("query_string", b"")
    return (raw_path + (b"?" + query if query else b"")).decode("latin-1")


class SignatureAuth:
    def __init__(
        self, pool: AsyncConnectionPool[Any], window_s: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.pool = pool
        self.window_s = window_s
        self.clock = clock

    async def verify(self, request: Request, body: bytes) -> Caller:
        try:
            signer, timestamp, signature = verify_request(
                dict(request.headers),
                request.method,
                signed_path(request),
                body,
                int(self.clock() * 1000),
                self.window_s,
            )
        except SignatureInvalid as exc:
            raise Unauthenticated(str(exc)) from None
        expires = datetime.fromtimestamp(timestamp / 1000, UTC) + timedelta(
            seconds=2 * self.window_s
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """INSERT INTO relay_used_signatures (signature, signer, expires_at)
                   VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1""",
                (signature, signer, expires),
            )
            if await cur.fetchone() is None:
                raise Unauthenticated(
                    "this signature was already used; sign every request anew "
                    f"(signer {signer}, timestamp {timestamp})"
                )
        return Caller(address=signer)


def hash_api_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per API key, in this process: `rate` requests a minute, bursts of up
    to `rate`. Several relay processes each allow the rate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def take(self, key_id: int, rate_per_minute: int) -> None:
        now = self.clock()
        bucket = self._buckets.setdefault(key_id, _Bucket(float(rate_per_minute), now))
        bucket.tokens = min(
            float(rate_per_minute), bucket.tokens + (now - bucket.updated) * rate_per_minute / 60
        )
        bucket.updated = now
        if bucket.tokens < 1:
            wait = (1 - bucket.tokens) * 60 / rate_per_minute
            raise RateLimited(
                f"API key {key_id} is over its rate of {rate_per_minute} requests a minute; "
                f"retry in {wait:.1f}s",
                retry_after_s=round(wait, 1),
            )
        bucket.tokens -= 1


class ApiKeyAuth:
    """Keys are looked up by hash; a found row is kept `cache_s` seconds, so a revocation takes
    effect within that time."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], limiter: RateLimiter, cache_s: float = 5.0
    ) -> None:
        self.pool = pool
        self.limiter = limiter
        self.cache_s = cache_s
        self._rows: dict[bytes, tuple[float, tuple[Any, ...]]] = {}

    async def verify(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.startswith(API_KEY_PREFIX):
            raise Unauthenticated(
                f"send the API key as 'Authorization: Bearer {API_KEY_PREFIX}...'"
            )
        digest = hash_api_key(key.strip())
        now = time.monotonic()
        cached = self._rows.get(digest)
        if cached is not None and now - cached[0] < self.cache_s:
            row: tuple[Any, ...] | None = cached[1]
        else:
            async with self.pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT id, rate_per_minute, revoked_at FROM relay_api_keys WHERE key_hash = %s",
                    (digest,),
                )
                row = await cur.fetchone()
            if row is not None:
                if len(self._rows) > 10_000:
                    self._rows.clear()
                self._rows[digest] = (now, tuple(row))
        if row is None:
            raise Unauthenticated("unknown API key")
        key_id, rate, revoked_at = row
        if revoked_at is not None:
            raise Forbidden(f"API key {key_id} was revoked at {revoked_at.isoformat()}")
        self.limiter.take(key_id, rate)
        return Caller(api_key_id=key_id)
