"""The relay, as the consumer's `ArgsSource` and `ResultSink`: one signed client per node.

Only a task's selected nodes may read its arguments and stage its results, so every call is
signed with the key of the job's node (`relay_api.client`, which retries connection errors
and 502/503/504 itself, for a second or two).

Beyond that, a job waits for the relay, up to `wait_s`, with backoff:
- for the arguments to be there: the creator can put them only once the task exists on chain,
  and the network hands the task to its nodes in the same block, so a node often asks first
  (404). Giving up at once would commit ARGS_UNAVAILABLE for an honest task, and the node
  would be outvoted by the nodes that asked a moment later;
- for a relay that cannot be reached or answers 5xx (a restart), when fetching or staging:
  a result whose images were never staged cannot be delivered.
Any other answer (403: not this task's node, 409, 413, ...) will not change by waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from inference.errors import ArgsUnavailable
from relay_api.client import RelayClient, RelayClientError, RelayHTTPError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BACKOFF_S = 2.0

T = TypeVar("T")


def worth_waiting(exc: RelayClientError, *, missing_is_pending: bool) -> bool:
    """Whether asking the relay again later may succeed where `exc` failed."""
    if not isinstance(exc, RelayHTTPError):
        return True  # not reached, or an unreadable answer: a relay starting or stopping
    if exc.status >= 500:
        return True
    return missing_is_pending and exc.status == 404


def backoff_s(attempt: int) -> float:
    return min(0.25 * 2.0**attempt, MAX_BACKOFF_S)


class RelayGateway:
    def __init__(
        self,
        clients: Mapping[str, RelayClient],
        *,
        wait_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clients = {node.lower(): client for node, client in clients.items()}
        self._wait_s = wait_s
        self._clock = clock
        self._sleep = sleep

    def fetch_args(self, task_id: str, node: str) -> bytes:
        client = self._client(node)
        try:
            return self._patiently(lambda: client.get_args(task_id), missing_is_pending=True)
        except RelayClientError as exc:
            raise ArgsUnavailable(f"the relay gave no arguments for task {task_id}: {exc}") from exc

    def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
        client = self._client(node)
        content_type = "image/png" if data.startswith(PNG_SIGNATURE) else "application/json"
        blob = self._patiently(
            lambda: client.put_result(task_id, node, index, data, content_type=content_type),
            missing_is_pending=False,
        )
        return blob.sha256

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _patiently(self, call: Callable[[], T], *, missing_is_pending: bool) -> T:
        give_up_at = self._clock() + self._wait_s
        attempt = 0
        while True:
            try:
                return call()
            except RelayClientError as exc:
                pause = backoff_s(attempt)
                if not worth_waiting(exc, missing_is_pending=missing_is_pending) or (
                    self._clock() + pause > give_up_at
                ):
                    raise
            self._sleep(pause)
            attempt += 1

    def _client(self, node: str) -> RelayClient:
        client = self._clients.get(node.lower())
        if client is None:
            raise KeyError(f"no relay client (no key) for node {node}")
        return client
