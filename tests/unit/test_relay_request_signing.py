"""The request-signing format of schemas/request_signing.py."""

from __future__ import annotations

import pytest
from eth_account import Account

from schemas.request_signing import (
    SignatureInvalid,
    canonical_message,
    sign_request,
    verify_request,
)

KEY = Account.from_key(b"\x01" * 32)
OTHER = Account.from_key(b"\x02" * 32)
NOW = 1_700_000_000_000


def signed(
    method: str = "PUT", path: str = "/v1/tasks/1/args", body: bytes = b"{}", ts: int = NOW, key=KEY
):
    return sign_request(key.key, method, path, ts, body).as_dict()


def test_the_canonical_message_names_method_path_timestamp_and_body_hash() -> None:
    assert canonical_message("put", "/v1/x?a=1", 5, b"") == (
        "hydrogen-request-v1\nPUT\n/v1/x?a=1\n5\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_a_signed_request_verifies_to_its_signer() -> None:
    signer, ts, _ = verify_request(signed(), "PUT", "/v1/tasks/1/args", b"{}", NOW + 1000, 60)
    assert (signer, ts) == (KEY.address, NOW)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/tasks/1/args", b"{}"),
        ("PUT", "/v1/tasks/2/args", b"{}"),
        ("PUT", "/v1/tasks/1/args", b"[]"),
    ],
)
def test_another_method_path_or_body_does_not_verify(method: str, path: str, body: bytes) -> None:
    with pytest.raises(SignatureInvalid, match="not by X-Hydrogen-Address"):
        verify_request(signed(), method, path, body, NOW, 60)


def test_a_timestamp_outside_the_window_is_refused_with_the_offset() -> None:
    with pytest.raises(SignatureInvalid, match=r"\+61.0s .* ±60s"):
        verify_request(signed(), "PUT", "/v1/tasks/1/args", b"{}", NOW + 61_000, 60)


def test_a_claimed_address_that_did_not_sign_is_refused() -> None:
    headers = signed(key=OTHER) | {"X-Hydrogen-Address": KEY.address}
    with pytest.raises(SignatureInvalid, match=OTHER.address):
        verify_request(headers, "PUT", "/v1/tasks/1/args", b"{}", NOW, 60)


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [("X-Hydrogen-Signature", "0x1234", "65 bytes"), ("X-Hydrogen-Signature", "zz", "not hex"),
     ("X-Hydrogen-Timestamp", "12.5", "milliseconds"), ("X-Hydrogen-Address", "0xnope", "not an address")],
)  # fmt: skip
def test_malformed_headers_are_named(header: str, value: str, message: str) -> None:
    with pytest.raises(SignatureInvalid, match=message):
        verify_request(signed() | {header: value}, "PUT", "/v1/tasks/1/args", b"{}", NOW, 60)


def test_missing_headers_are_listed() -> None:
    with pytest.raises(SignatureInvalid, match="X-Hydrogen-Timestamp, X-Hydrogen-Signature"):
        verify_request({"X-Hydrogen-Address": KEY.address}, "GET", "/", b"", NOW, 60)
