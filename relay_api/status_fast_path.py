"""GET /v1/tasks/{id} answered from the status cache without going through FastAPI's routing,
validation and dependencies: status reads are the relay's hot path (apps poll them).

Only a cache hit is served here; a miss, a query string or anything else goes on to the app,
which fills the cache. The answer is the same bytes the route itself would send.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from starlette.types import ASGIApp, Receive, Scope, Send

_TASK_PATH = re.compile(r"^/v1/tasks/(0|[1-9][0-9]{0,76})$")  # < 10**77: surely a uint256
_ROUTE = SimpleNamespace(path="/v1/tasks/{task_id}")
_HEADERS = [(b"content-type", b"application/json")]


class StatusFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = _TASK_PATH.match(scope["path"])
            services = getattr(scope["app"].state, "services", None) if match else None
            if match and services is not None:
                body = services.directory.cached_status(match.group(1))
                if body is not None:
                    scope["route"] = _ROUTE
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)
