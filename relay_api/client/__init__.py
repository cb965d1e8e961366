"""The relay's Python client, for applications, nodes and the CLI (sync and asyncio).

Imports only `schemas` (the request-signing format) and httpx, so any component may use it.

    with RelayClient(url, private_key=key) as relay:
        relay.put_args(task_id, raw_args)
        for event in relay.events(task_id):
            ...
        image = relay.download_result(task_id, 0)
"""

from relay_api.client.async_client import AsyncRelayClient
from relay_api.client.errors import RelayClientError, RelayHTTPError
from relay_api.client.models import ManagedTask, StatusEvent, StoredBlob, TaskInfo
from relay_api.client.sync import RelayClient

__all__ = [
    "AsyncRelayClient",
    "ManagedTask",
    "RelayClient",
    "RelayClientError",
    "RelayHTTPError",
    "StatusEvent",
    "StoredBlob",
    "TaskInfo",
]
