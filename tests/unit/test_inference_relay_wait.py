"""The consumer's relay gateway waits for arguments not put yet and for a relay that is away,
and gives up at once on answers that waiting cannot change."""

from __future__ import annotations

from typing import Any

import pytest

from inference.errors import ArgsUnavailable
from inference.relay import RelayGateway, backoff_s
from relay_api.client import RelayClientError, RelayHTTPError, StoredBlob

NODE = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
ARGS = b'{"base_model": "tiny-sd15"}'
PNG = b"\x89PNG\r\n\x1a\n..."


def http(status: int) -> RelayHTTPError:
    return RelayHTTPError(status, {"error": "x", "detail": "y"}, "GET", "/v1/tasks/7/args")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Client:
    """Answers with the queued failures first, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def _next(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)

    def get_args(self, task_id: str) -> bytes:
        self._next()
        return ARGS

    def put_result(self, task_id: str, node: str, index: int, data: bytes, **_: Any) -> StoredBlob:
        self._next()
        return StoredBlob(task_id, "result", node, index, "ab" * 32, len(data))

    def close(self) -> None:
        pass


def gateway(client: Client, clock: Clock, wait_s: float = 60.0) -> RelayGateway:
    return RelayGateway({NODE: client}, wait_s=wait_s, clock=clock, sleep=clock.sleep)  # type: ignore[dict-item]


def test_args_not_put_yet_are_asked_for_again_until_they_are_there() -> None:
    clock, client = Clock(), Client(http(404), http(404), http(404))
    assert gateway(client, clock).fetch_args("7", NODE) == ARGS
    assert client.calls == 4
    assert clock.sleeps == [backoff_s(0), backoff_s(1), backoff_s(2)]


def test_an_unreachable_relay_is_waited_for_when_fetching_and_staging() -> None:
    clock = Clock()
    assert gateway(Client(RelayClientError("refused"), http(503)), clock).fetch_args("7", NODE)
    staging = Client(RelayClientError("refused"), http(502))
    assert gateway(staging, clock).stage("7", NODE, 0, PNG) == "ab" * 32
    assert staging.calls == 3


def test_args_never_put_are_unavailable_once_the_wait_is_over() -> None:
    clock, client = Clock(), Client(*[http(404)] * 1000)
    with pytest.raises(ArgsUnavailable, match="404"):
        gateway(client, clock, wait_s=30).fetch_args("7", NODE)
    assert 25 <= clock.now <= 30
    assert max(clock.sleeps) == 2.0  # the backoff is capped, so a late put is seen soon


@pytest.mark.parametrize("status", [400, 401, 403, 409, 413, 422])
def test_an_answer_that_waiting_cannot_change_fails_at_once(status: int) -> None:
    clock, client = Clock(), Client(http(status))
    with pytest.raises(ArgsUnavailable, match=str(status)):
        gateway(client, clock).fetch_args("7", NODE)
    assert client.calls == 1 and clock.sleeps == []


def test_a_missing_task_when_staging_is_not_waited_for() -> None:
    clock, client = Clock(), Client(http(404))
    with pytest.raises(RelayHTTPError):
        gateway(client, clock).stage("7", NODE, 0, PNG)
    assert client.calls == 1


def test_no_wait_at_all_when_the_wait_is_zero() -> None:
    clock, client = Clock(), Client(http(404))
    with pytest.raises(ArgsUnavailable):
        gateway(client, clock, wait_s=0).fetch_args("7", NODE)
    assert clock.sleeps == []
