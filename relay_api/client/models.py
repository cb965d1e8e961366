"""What the relay answers, as typed values (the JSON is kept in `.raw`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoredBlob:
    task_id: str
    kind: str
    node: str
    index: int
    sha256: str
    size: int
    delivered: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> StoredBlob:
        return cls(
            task_id=body["task_id"], kind=body["kind"], node=body["node"], index=body["index"],
            sha256=body["sha256"], size=body["size"], delivered=bool(body.get("delivered", False)),
        )  # fmt: skip


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    status: str
    creator: str | None
    selected_nodes: tuple[str, ...]
    result_node: str | None
    source: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def ended(self) -> bool:
        return self.status in ("Completed", "Aborted", "Cancelled")

    @classmethod
    def of(cls, body: dict[str, Any]) -> TaskInfo:
        return cls(
            task_id=body["task_id"], status=body["status"], creator=body.get("creator"),
            selected_nodes=tuple(body.get("selected_nodes") or ()),
            result_node=body.get("result_node"), source=body.get("source", ""), raw=body,
        )  # fmt: skip


@dataclass(frozen=True)
class StatusEvent:
    """One Server-Sent Event of a task's stream: a status change."""

    id: str
    event: str
    data: dict[str, Any]

    @property
    def to_status(self) -> str:
        return str(self.data.get("to_status", ""))


@dataclass(frozen=True)
class ManagedTask:
    request_id: str
    status: str  # requested, created, failed
    task_id: str | None
    error: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, body: dict[str, Any]) -> ManagedTask:
        return cls(body["request_id"], body["status"], body.get("task_id"), body.get("error"), body)


class SseParser:
    """Incremental parser of an event stream (the WHATWG rules we need: id, event, data)."""

    def __init__(self) -> None:
        self._id = ""
        self._event = ""
        self._data: list[str] = []
        self.last_id: str | None = None

    def feed_line(self, line: str) -> StatusEvent | None:
        if line == "":
            if not self._data:
                self._event = ""
                return None
            event = StatusEvent(
                self._id, self._event or "message", json.loads("\n".join(self._data))
            )
            self.last_id = self._id or self.last_id
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            self._id = value
        elif name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None
