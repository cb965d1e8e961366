"""What the sync and async clients share: how a call is built, signed and read back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from relay_api.client.errors import RelayClientError, RelayHTTPError
from schemas.request_signing import sign_request

RETRY_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT"})


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    signed: bool = False  # by the chain account
    api_key: bool = False  # managed mode

    @property
    def retryable(self) -> bool:
        return self.method in IDEMPOTENT


@dataclass
class Credentials:
    private_key: str | bytes | None = None
    api_key: str | None = None
    clock: Callable[[], float] = time.time
    _last_ms: int = 0

    def timestamp_ms(self) -> int:
        """Now in Unix ms, strictly after the last one: two identical requests must never
        carry the same (deterministic) signature."""
        now = max(int(self.clock() * 1000), self._last_ms + 1)
        self._last_ms = now
        return now


def build_request(
    client: httpx.Client | httpx.AsyncClient, call: Call, creds: Credentials
) -> httpx.Request:
    """The request, signed anew (every attempt needs a fresh signature: each is used once)."""
    request = client.build_request(
        call.method, call.path, params=call.params or None, content=call.content,
        headers=call.headers,
    )  # fmt: skip
    if call.api_key:
        if creds.api_key is None:
            raise RelayClientError(f"{call.method} {call.path} needs an API key")
        request.headers["Authorization"] = f"Bearer {creds.api_key}"
    elif call.signed:
        if creds.private_key is None:
            raise RelayClientError(f"{call.method} {call.path} needs a private key to sign")
        path = request.url.raw_path.decode("ascii")
        signed = sign_request(
            creds.private_key, call.method, path, creds.timestamp_ms(), call.content
        )
        request.headers.update(signed.as_dict())
    return request


def raise_for_status(response: httpx.Response, call: Call) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
        if not isinstance(body, dict):
            body = {"detail": body}
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {"detail": response.text[:500]}
    raise RelayHTTPError(response.status_code, body, call.method, call.path)


def redirect_target(response: httpx.Response) -> str:
    """Where a download was sent: the relay answers 307 to a presigned object-store URL when
    its store is S3 (`HYDROGEN_RELAY_S3_PRESIGN_S`), so the bytes do not pass through it."""
    location = response.headers.get("location")
    if not location:
        raise RelayClientError(f"{response.status_code} without a Location header")
    return str(response.url.join(location))


def should_retry(call: Call, attempt: int, retries: int, status: int | None) -> bool:
    if not call.retryable or attempt >= retries:
        return False
    return status is None or status in RETRY_STATUSES


def backoff_s(attempt: int) -> float:
    return float(min(0.2 * 2**attempt, 5.0))


def json_body(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise RelayClientError(f"expected a JSON object, got {type(body).__name__}")
    return body
