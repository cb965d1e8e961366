"""Reading a request body with a size limit, before anything else looks at it."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from relay_api.errors import BadRequest, PayloadTooLarge


async def read_body(request: Request, limit: int, what: str = "body") -> bytes:
    """The whole body, or 413 as soon as it is known to pass `limit` bytes (from
    Content-Length when sent, else while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest(f"Content-Length is not a number: {declared[:20]!r}")
        if int(declared) > limit:
            raise PayloadTooLarge(
                f"{what} of {int(declared)} bytes is over the limit of {limit} bytes",
                limit=limit,
            )
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"{what} is over the limit of {limit} bytes", limit=limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadRequest("the client went away before sending the whole body") from None
    body = b"".join(chunks)
    request._body = body  # later readers (FastAPI's own) get the same bytes
    return body
