"""One file from a URL (a Civitai checkpoint, a LoRA): resumable, checked, renamed atomically.

The bytes go to `<dest>.part`. A broken transfer is resumed with a `Range` request from the
size already on disk (a server that ignores the range sends the whole file, and we start
over); once complete, the size is checked against what the server announced and the sha256
against the expected one when known, and only then is the file renamed to `dest`. So `dest`
exists only complete and checked, and a crash at any moment leaves at worst a `.part` to
resume.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from inference.errors import DownloadFailed

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
PART_SUFFIX = ".part"


class Progress(Protocol):
    def update(self, n: int) -> object: ...
    def close(self) -> None: ...


ProgressFactory = Callable[[str, int | None, int], Progress]
"""(description, total bytes or None, bytes already on disk) -> a progress bar."""


@dataclass(frozen=True)
class DownloadPolicy:
    attempts: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 30.0


def tqdm_progress(description: str, total: int | None, initial: int) -> Progress:
    from tqdm import tqdm  # noqa: PLC0415 (only a download needs it)

    bar: Progress = tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
        desc=description, leave=False,
    )  # fmt: skip
    return bar


def download(
    client: httpx.Client,
    url: str,
    dest: Path,
    *,
    expected_sha256: str | None = None,
    policy: DownloadPolicy = DownloadPolicy(),
    progress: ProgressFactory | None = None,
) -> Path:
    """`dest`, downloading `url` into it first unless it is already there."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART_SUFFIX)
    last: Exception | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            total = _fetch_into(client, url, part, policy.timeout_s, progress)
            break
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            last = exc
            log.warning(
                "download interrupted url=%s attempt=%d/%d bytes_on_disk=%d: %s",
                _loggable(url), attempt, policy.attempts, _size(part), exc,
            )  # fmt: skip
            if attempt < policy.attempts:
                time.sleep(policy.backoff_s * 2 ** (attempt - 1))
    else:
        raise DownloadFailed(
            f"download of {_loggable(url)} failed after {policy.attempts} attempts: {last}"
        ) from last
    _check(part, url, total, expected_sha256)
    with part.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, dest)
    log.info("downloaded url=%s to=%s bytes=%d", _loggable(url), dest, dest.stat().st_size)
    return dest


def _fetch_into(
    client: httpx.Client,
    url: str,
    part: Path,
    timeout_s: float,
    progress: ProgressFactory | None,
) -> int | None:
    """Append the rest of `url` to `part`; the total size the server announced, if any."""
    offset = _size(part)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with client.stream(
        "GET", url, headers=headers, follow_redirects=True, timeout=timeout_s
    ) as response:
        if response.status_code == httpx.codes.REQUESTED_RANGE_NOT_SATISFIABLE and offset:
            # The part is as long as the file (or longer): let the checks decide.
            return _range_total(response.headers.get("content-range"))
        response.raise_for_status()
        if offset and response.status_code != httpx.codes.PARTIAL_CONTENT:
            log.info("server ignored the range; starting over url=%s", _loggable(url))
            offset = 0
        total = _announced_total(response, offset)
        bar = progress(part.name.removesuffix(PART_SUFFIX), total, offset) if progress else None
        try:
            with part.open("ab" if offset else "wb") as f:
                # As received, not in fixed chunks: a broken transfer keeps what arrived.
                for chunk in response.iter_bytes():
                    f.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    return total


def _announced_total(response: httpx.Response, offset: int) -> int | None:
    if response.status_code == httpx.codes.PARTIAL_CONTENT:
        return _range_total(response.headers.get("content-range"))
    length = response.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


def _range_total(content_range: str | None) -> int | None:
    # "bytes 100-199/200" or "bytes */200"
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _check(part: Path, url: str, total: int | None, expected_sha256: str | None) -> None:
    size = _size(part)
    if total is not None and size != total:
        part.unlink(missing_ok=True)
        raise DownloadFailed(
            f"download of {_loggable(url)} has {size} bytes, the server announced {total}"
        )
    if expected_sha256 is not None:
        digest = sha256_of(part)
        if digest != expected_sha256.lower():
            part.unlink(missing_ok=True)
            raise DownloadFailed(
                f"download of {_loggable(url)} has sha256 {digest}, expected {expected_sha256}"
            )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _loggable(url: str) -> str:
    """The URL without its query: Civitai passes API tokens there."""
    return url.split("?", 1)[0]
