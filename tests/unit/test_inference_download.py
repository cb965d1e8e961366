"""Downloads against a real HTTP server on 127.0.0.1 that honours Range (or not)."""

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from inference.download import DownloadPolicy, download
from inference.errors import DownloadFailed

BODY = bytes(range(256)) * 1000  # 256 kB
FAST = DownloadPolicy(attempts=3, backoff_s=0.01, timeout_s=5)


class Server:
    def __init__(self) -> None:
        self.cut_first_response_at: int | None = None
        self.honour_range = True
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                header = self.headers.get("Range")
                server.ranges.append(header)
                start = 0
                if header and server.honour_range:
                    start = int(header.removeprefix("bytes=").rstrip("-"))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
                else:
                    self.send_response(200)
                body = BODY[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_first_response_at is not None:
                    self.wfile.write(body[: server.cut_first_response_at])
                    server.cut_first_response_at = None
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/lora.safetensors"


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    thread = threading.Thread(target=s.httpd.serve_forever, daemon=True)
    thread.start()
    yield s
    s.httpd.shutdown()


def test_a_download_lands_whole_under_its_name(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "m" / "model.safetensors"
    with httpx.Client() as client:
        download(
            client, server.url, dest, expected_sha256=hashlib.sha256(BODY).hexdigest(), policy=FAST
        )
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "m" / "model.safetensors.part").exists()


def test_a_broken_transfer_resumes_from_the_bytes_on_disk(server: Server, tmp_path: Path) -> None:
    server.cut_first_response_at = 100_000
    dest = tmp_path / "model.safetensors"
    with httpx.Client() as client:
        download(client, server.url, dest, policy=FAST)
    assert dest.read_bytes() == BODY
    assert server.ranges == [None, "bytes=100000-"]


def test_a_part_left_by_a_crash_is_resumed(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "model.safetensors"
    (tmp_path / "model.safetensors.part").write_bytes(BODY[:5000])
    with httpx.Client() as client:
        download(client, server.url, dest, policy=FAST)
    assert dest.read_bytes() == BODY
    assert server.ranges == ["bytes=5000-"]


def test_a_server_that_ignores_range_is_read_from_the_start(server: Server, tmp_path: Path) -> None:
    server.honour_range = False
    dest = tmp_path / "model.safetensors"
    (tmp_path / "model.safetensors.part").write_bytes(b"stale")
    with httpx.Client() as client:
        download(client, server.url, dest, policy=FAST)
    assert dest.read_bytes() == BODY


def test_a_wrong_sha256_fails_and_leaves_nothing(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "model.safetensors"
    with httpx.Client() as client, pytest.raises(DownloadFailed, match="expected 00"):
        download(client, server.url, dest, expected_sha256="00" * 32, policy=FAST)
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_url_fails_after_its_attempts(tmp_path: Path) -> None:
    with httpx.Client() as client, pytest.raises(DownloadFailed, match="after 3 attempts"):
        download(client, "http://127.0.0.1:9/x", tmp_path / "x", policy=FAST)


def test_progress_is_reported_from_the_resumed_offset(server: Server, tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.part").write_bytes(BODY[:1000])
    seen: list[tuple[int | None, int]] = []
    updates: list[int] = []

    class Bar:
        def update(self, n: int) -> None:
            updates.append(n)

        def close(self) -> None:
            pass

    def progress(name: str, total: int | None, initial: int) -> Bar:
        seen.append((total, initial))
        return Bar()

    with httpx.Client() as client:
        download(client, server.url, tmp_path / "model.safetensors", policy=FAST, progress=progress)
    assert seen == [(len(BODY), 1000)]
    assert sum(updates) == len(BODY) - 1000
