"""Errors of the relay client.

RelayClientError          the relay could not be reached, or answered nonsense
└── RelayHTTPError        the relay answered 4xx/5xx: .status, .kind, .detail, .body
"""

from __future__ import annotations

from typing import Any


class RelayClientError(RuntimeError):
    """The relay could not be reached, or its answer could not be read."""


class RelayHTTPError(RelayClientError):
    def __init__(self, status: int, body: dict[str, Any], method: str, path: str) -> None:
        self.status = status
        self.body = body
        self.kind = str(body.get("error", "http"))
        self.detail = str(body.get("detail", ""))
        super().__init__(f"{method} {path} -> {status} {self.kind}: {self.detail}")
