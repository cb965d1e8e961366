"""The asyncio client (httpx.AsyncClient); the same calls as `RelayClient`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx

from relay_api.client.errors import RelayClientError, RelayHTTPError
from relay_api.client.models import ManagedTask, SseParser, StatusEvent, StoredBlob, TaskInfo
from relay_api.client.requests import (
    Call,
    Credentials,
    backoff_s,
    build_request,
    json_body,
    raise_for_status,
    redirect_target,
    should_retry,
)

ENDED = ("Completed", "Aborted", "Cancelled")


class AsyncRelayClient:
    def __init__(
        self,
        base_url: str,
        *,
        private_key: str | bytes | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.creds = credentials or Credentials(private_key, api_key)
        self.retries = retries
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncRelayClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _send(self, call: Call, stream: bool = False) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self.http.send(
                    build_request(self.http, call, self.creds), stream=stream
                )
            except httpx.TransportError as exc:
                if not should_retry(call, attempt, self.retries, None):
                    raise RelayClientError(f"{call.method} {call.path}: {exc}") from exc
            else:
                if not should_retry(call, attempt, self.retries, response.status_code):
                    if stream and response.status_code >= 400:
                        await response.aread()
                    raise_for_status(response, call)
                    return response
                await response.aclose()
            await anyio.sleep(backoff_s(attempt))
            attempt += 1

    async def _json(self, call: Call) -> dict[str, Any]:
        return json_body(await self._send(call))

    async def put_args(self, task_id: int | str, args: bytes) -> StoredBlob:
        call = Call("PUT", f"/v1/tasks/{task_id}/args", content=args,
                    headers={"Content-Type": "application/json"}, signed=True)  # fmt: skip
        return StoredBlob.of(await self._json(call))

    async def iter_result(
        self, task_id: int | str, index: int, chunk_bytes: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        call = Call("GET", f"/v1/tasks/{task_id}/results/{index}",
                    signed=self.creds.api_key is None, api_key=self.creds.api_key is not None)  # fmt: skip
        response = await self._send(call, stream=True)
        if response.is_redirect:  # a presigned object-store URL: fetched without our headers
            await response.aclose()
            request = self.http.build_request("GET", redirect_target(response))
            response = await self.http.send(request, stream=True)
            if response.status_code >= 400:
                await response.aread()
            raise_for_status(response, call)
        try:
            async for chunk in response.aiter_bytes(chunk_bytes):
                yield chunk
        finally:
            await response.aclose()

    async def download_result(self, task_id: int | str, index: int) -> bytes:
        return b"".join([chunk async for chunk in self.iter_result(task_id, index)])

    async def get_args(self, task_id: int | str) -> bytes:
        return (await self._send(Call("GET", f"/v1/tasks/{task_id}/args", signed=True))).content

    async def put_result(self, task_id: int | str, node: str, index: int, data: bytes,
                         content_type: str = "image/png") -> StoredBlob:  # fmt: skip
        call = Call("PUT", f"/v1/tasks/{task_id}/results/{node}/{index}", content=data,
                    headers={"Content-Type": content_type}, signed=True)  # fmt: skip
        return StoredBlob.of(await self._json(call))

    async def task(self, task_id: int | str) -> TaskInfo:
        return TaskInfo.of(await self._json(Call("GET", f"/v1/tasks/{task_id}")))

    async def events(self, task_id: int | str, last_event_id: str | None = None,
                     reconnect: bool = True) -> AsyncIterator[StatusEvent]:  # fmt: skip
        parser = SseParser()
        parser.last_id = last_event_id
        attempt = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if parser.last_id:
                headers["Last-Event-ID"] = parser.last_id
            call = Call("GET", f"/v1/tasks/{task_id}/events", headers=headers)
            try:
                async with self.http.stream(
                    "GET", call.path, headers=headers, timeout=None
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise_for_status(response, call)
                    attempt = 0
                    async for line in response.aiter_lines():
                        event = parser.feed_line(line)
                        if event is not None:
                            yield event
                            if event.to_status in ENDED:
                                return
            except (httpx.TransportError, RelayHTTPError) as exc:
                status = exc.status if isinstance(exc, RelayHTTPError) else None
                if not reconnect or not should_retry(call, attempt, self.retries, status):
                    raise
            if not reconnect:
                return
            await anyio.sleep(backoff_s(attempt))
            attempt += 1

    async def nodes(
        self, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        nodes: list[dict[str, Any]] = (await self._json(Call("GET", "/v1/nodes", params=params)))[
            "nodes"
        ]
        return nodes

    async def stats(self, name: str, **params: Any) -> dict[str, Any]:
        return await self._json(Call("GET", f"/v1/stats/{name}", params=params))

    async def create_task(self, task_type: str, args: dict[str, Any], model_ids: list[str] | None = None,
                          min_vram: int = 0) -> ManagedTask:  # fmt: skip
        body = json.dumps({"task_type": task_type, "args": args, "model_ids": model_ids or [],
                           "min_vram": min_vram}).encode()  # fmt: skip
        call = Call("POST", "/v1/tasks", content=body,
                    headers={"Content-Type": "application/json"}, api_key=True)  # fmt: skip
        return ManagedTask.of(await self._json(call))

    async def managed(self, request_id: str) -> ManagedTask:
        return ManagedTask.of(
            await self._json(Call("GET", f"/v1/managed/{request_id}", api_key=True))
        )
