"""The relay, as the consumer's `ArgsSource` and `ResultSink`: one signed client per node.

Only a task's selected nodes may read its arguments and stage its results, so every call is
signed with the key of the job's node (`relay_api.client`, which retries connection errors
and 502/503/504 itself).
"""

from __future__ import annotations

from collections.abc import Mapping

from inference.errors import ArgsUnavailable
from relay_api.client import RelayClient, RelayClientError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class RelayGateway:
    def __init__(self, clients: Mapping[str, RelayClient]) -> None:
        self._clients = {node.lower(): client for node, client in clients.items()}

    def fetch_args(self, task_id: str, node: str) -> bytes:
        try:
            return self._client(node).get_args(task_id)
        except RelayClientError as exc:
            raise ArgsUnavailable(f"the relay gave no arguments for task {task_id}: {exc}") from exc

    def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
        content_type = "image/png" if data.startswith(PNG_SIGNATURE) else "application/json"
        blob = self._client(node).put_result(task_id, node, index, data, content_type=content_type)
        return blob.sha256

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _client(self, node: str) -> RelayClient:
        client = self._clients.get(node.lower())
        if client is None:
            raise KeyError(f"no relay client (no key) for node {node}")
        return client
