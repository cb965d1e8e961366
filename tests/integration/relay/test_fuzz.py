"""A property-based fuzz of the relay from its own OpenAPI document (schemathesis generates
the requests, hypothesis drives them): whatever a client sends, signed or not, the relay
never answers with a 5xx.

Requests are sent with httpx rather than through schemathesis' pytest plugin, so that each can
also be signed by a real account (the signature covers the exact bytes sent) and the fuzz
gets past authentication into the routes' own checks.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from relay_helpers import APP, RelayServer

from schemas.request_signing import sign_request

# A stream of an existing task stays open until the task ends: not for a fuzzer.
SKIP = ("/v1/tasks/{task_id}/events",)


def operations(relay: RelayServer) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{relay.url}/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]
    return [op for op in ops if op.path not in SKIP]


def send(relay: RelayServer, case: Any, sign: bool) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=relay.url)
    body = kwargs.get("content") or kwargs.get("data") or b""
    if "json" in kwargs:
        body = json.dumps(kwargs["json"]).encode()
    body = body.encode() if isinstance(body, str) else bytes(body)
    try:
        request = httpx.Request(
            kwargs["method"], kwargs["url"], params=kwargs.get("params") or None,
            headers=kwargs.get("headers"), content=body,
        )  # fmt: skip
    except (httpx.HTTPError, ValueError, TypeError, UnicodeEncodeError):
        reject()  # not a request any HTTP client could send
    if sign:
        path = request.url.raw_path.decode("ascii")
        signed = sign_request(APP.key, request.method, path, int(time.time() * 1000), body)
        request.headers.update(signed.as_dict())
    with httpx.Client(timeout=20) as client:
        try:
            return client.send(request)
        except httpx.LocalProtocolError:
            reject()
    raise AssertionError("unreachable")


@pytest.mark.parametrize("sign", [False, True], ids=["unsigned", "signed"])
def test_no_request_gets_a_server_error(relay: RelayServer, sign: bool) -> None:
    failures = []
    for op in operations(relay):

        @given(case=op.as_strategy())
        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            response = send(relay, case, sign)
            assert response.status_code < 500, (
                f"{case.method} {response.request.url} -> {response.status_code}: {response.text[:300]}"
            )

        try:
            check()
        except AssertionError as exc:
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n".join(failures)
