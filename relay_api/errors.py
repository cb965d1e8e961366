"""Errors the relay answers with; each maps to one HTTP status and a JSON body.

    RelayError                 (500 unless a subclass says otherwise)
    ├── BadRequest             400  malformed input: ids, headers, JSON, Range
    ├── Unauthenticated        401  missing or invalid signature or API key
    ├── Forbidden              403  a valid caller without the role for this task
    ├── NotFound               404  no such task, blob, node
    ├── Conflict               409  the task is not in a state that allows this, or the
    │                               body contradicts the chain (args hash)
    ├── PayloadTooLarge        413  over a size limit
    ├── Unprocessable          422  well-formed but invalid (task args, image p-hash); names
    │                               the field and the value
    ├── RateLimited            429  an API key over its rate
    └── Unavailable            503  a dependency (Postgres, object store, Kafka, chain) failed

The body is `{"error": "<kind>", "detail": "<what was wrong, with the value>", ...extra}`.
"""

from __future__ import annotations

from typing import Any


class RelayError(Exception):
    status = 500
    kind = "internal"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.kind, "detail": self.detail, **self.extra}


class BadRequest(RelayError):
    status = 400
    kind = "bad_request"


class Unauthenticated(RelayError):
    status = 401
    kind = "unauthenticated"


class Forbidden(RelayError):
    status = 403
    kind = "forbidden"


class NotFound(RelayError):
    status = 404
    kind = "not_found"


class Conflict(RelayError):
    status = 409
    kind = "conflict"


class PayloadTooLarge(RelayError):
    status = 413
    kind = "payload_too_large"


class Unprocessable(RelayError):
    status = 422
    kind = "unprocessable"


class RateLimited(RelayError):
    status = 429
    kind = "rate_limited"


class Unavailable(RelayError):
    status = 503
    kind = "unavailable"
