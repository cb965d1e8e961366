"""Serving a blob: ETag (its sha256), If-None-Match, a single byte Range, and big pieces.

Objects never change under a key (the key is their hash), so the ETag is strong and a
conditional GET needs no I/O. Multiple ranges are not supported: such a request gets the
whole blob, as RFC 9110 allows.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from relay_api.blob_index import BlobRow
from relay_api.content_store import ContentStore

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) exclusive for a satisfiable single range; None to send everything;
    "unsatisfiable" for a range past the end."""
    if header is None:
        return None
    m = _RANGE.match(header.strip())
    if m is None:
        return None  # multiple or malformed ranges: the whole blob
    first, last = m.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or end <= start:
        return "unsatisfiable"
    return start, end


def blob_response(
    request: Request,
    row: BlobRow,
    content: ContentStore,
    presign_s: int = 0,
    chunk_bytes: int = 4 * 1024 * 1024,
) -> Response:
    headers = {
        "ETag": row.etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-SHA256": row.sha256.hex(),
    }
    inm = request.headers.get("if-none-match")
    if inm is not None and _matches(inm, row.etag):
        return Response(status_code=304, headers=headers)
    url = content.presigned_url(row.sha256, presign_s)
    if url is not None:
        return RedirectResponse(url, status_code=307, headers=headers)
    wanted = byte_range(request.headers.get("range"), row.size)
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != row.etag:
        wanted = None
    if isinstance(wanted, str):
        return Response(
            status_code=416, headers={**headers, "Content-Range": f"bytes */{row.size}"}
        )
    start, end = (0, row.size) if wanted is None else wanted
    headers["Content-Length"] = str(end - start)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{row.size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=row.content_type)
    return StreamingResponse(
        content.stream(row.sha256, start, end, chunk_bytes), status_code=status, headers=headers,
        media_type=row.content_type,
    )  # fmt: skip
