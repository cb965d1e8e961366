"""The blocking client (httpx.Client)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import IO, Any

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


class RelayClient:
    """One relay, as an application (creator), a node, or a managed-mode app sees it.

    `private_key` signs requests of a chain account; `api_key` is managed mode's key.
    Idempotent calls (GET, PUT) are retried `retries` times on connection errors and 502,
    503, 504, each time signed anew.
    """

    def __init__(
        self,
        base_url: str,
        *,
        private_key: str | bytes | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.creds = credentials or Credentials(private_key, api_key)
        self.retries = retries
        self.http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RelayClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, call: Call, stream: bool = False) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self.http.send(build_request(self.http, call, self.creds), stream=stream)
            except httpx.TransportError as exc:
                if not should_retry(call, attempt, self.retries, None):
                    raise RelayClientError(f"{call.method} {call.path}: {exc}") from exc
            else:
                if not should_retry(call, attempt, self.retries, response.status_code):
                    if stream and response.status_code >= 400:
                        response.read()
                    raise_for_status(response, call)
                    return response
                response.close()
            time.sleep(backoff_s(attempt))
            attempt += 1

    def _json(self, call: Call) -> dict[str, Any]:
        return json_body(self._send(call))

    # ---- applications (creators) ----

    def put_args(self, task_id: int | str, args: bytes) -> StoredBlob:
        call = Call("PUT", f"/v1/tasks/{task_id}/args", content=args,
                    headers={"Content-Type": "application/json"}, signed=True)  # fmt: skip
        return StoredBlob.of(self._json(call))

    def iter_result(
        self, task_id: int | str, index: int, chunk_bytes: int = 1 << 20
    ) -> Iterator[bytes]:
        """A delivered image, streamed (signed by the creator, or with the API key)."""
        call = Call("GET", f"/v1/tasks/{task_id}/results/{index}",
                    signed=self.creds.api_key is None, api_key=self.creds.api_key is not None)  # fmt: skip
        response = self._send(call, stream=True)
        if response.is_redirect:  # a presigned object-store URL: fetched without our headers
            response.close()
            request = self.http.build_request("GET", redirect_target(response))
            response = self.http.send(request, stream=True)
            if response.status_code >= 400:
                response.read()
            raise_for_status(response, call)
        try:
            yield from response.iter_bytes(chunk_bytes)
        finally:
            response.close()

    def download_result(
        self, task_id: int | str, index: int, out: IO[bytes] | None = None
    ) -> bytes | int:
        """The image's bytes, or with `out` the number of bytes written there."""
        if out is None:
            return b"".join(self.iter_result(task_id, index))
        written = 0
        for chunk in self.iter_result(task_id, index):
            out.write(chunk)
            written += len(chunk)
        return written

    # ---- nodes ----

    def get_args(self, task_id: int | str) -> bytes:
        return self._send(Call("GET", f"/v1/tasks/{task_id}/args", signed=True)).content

    def put_result(self, task_id: int | str, node: str, index: int, data: bytes,
                   content_type: str = "image/png") -> StoredBlob:  # fmt: skip
        call = Call("PUT", f"/v1/tasks/{task_id}/results/{node}/{index}", content=data,
                    headers={"Content-Type": content_type}, signed=True)  # fmt: skip
        return StoredBlob.of(self._json(call))

    # ---- anyone ----

    def task(self, task_id: int | str) -> TaskInfo:
        return TaskInfo.of(self._json(Call("GET", f"/v1/tasks/{task_id}")))

    def events(self, task_id: int | str, last_event_id: str | None = None,
               reconnect: bool = True) -> Iterator[StatusEvent]:  # fmt: skip
        """The task's status changes until it ends, resuming after `last_event_id`; a
        dropped connection is resumed where it stopped."""
        parser = SseParser()
        parser.last_id = last_event_id
        attempt = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if parser.last_id:
                headers["Last-Event-ID"] = parser.last_id
            call = Call("GET", f"/v1/tasks/{task_id}/events", headers=headers)
            try:
                with self.http.stream("GET", call.path, headers=headers, timeout=None) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise_for_status(response, call)
                    attempt = 0
                    for line in response.iter_lines():
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
            time.sleep(backoff_s(attempt))
            attempt += 1

    def nodes(
        self, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        nodes: list[dict[str, Any]] = self._json(Call("GET", "/v1/nodes", params=params))["nodes"]
        return nodes

    def stats(self, name: str, **params: Any) -> dict[str, Any]:
        """`name`: tasks-per-hour, phase-latency or nodes."""
        return self._json(Call("GET", f"/v1/stats/{name}", params=params))

    def ready(self) -> dict[str, Any]:
        response = self.http.get("/readyz")
        return json_body(response)

    # ---- managed mode ----

    def create_task(self, task_type: str, args: dict[str, Any], model_ids: list[str] | None = None,
                    min_vram: int = 0) -> ManagedTask:  # fmt: skip
        body = json.dumps({"task_type": task_type, "args": args, "model_ids": model_ids or [],
                           "min_vram": min_vram}).encode()  # fmt: skip
        call = Call("POST", "/v1/tasks", content=body,
                    headers={"Content-Type": "application/json"}, api_key=True)  # fmt: skip
        return ManagedTask.of(self._json(call))

    def managed(self, request_id: str) -> ManagedTask:
        return ManagedTask.of(self._json(Call("GET", f"/v1/managed/{request_id}", api_key=True)))
