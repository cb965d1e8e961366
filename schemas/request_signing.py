"""How a chain account signs a request to the relay, and how the relay checks it.

Every authenticated request carries three headers:

    X-Hydrogen-Address    the signer's address (EIP-55 or lower case)
    X-Hydrogen-Timestamp  Unix milliseconds when it was signed (an integer)
    X-Hydrogen-Signature  0x-hex, 65 bytes: an EIP-191 (`personal_sign`) signature of

        hydrogen-request-v1
        <METHOD>
        <path with its query string, exactly as sent>
        <timestamp>
        <sha256 of the body, lower-case hex>

The lines are joined by a single newline, with no trailing newline. The body hash covers the
exact bytes sent (an empty body hashes to sha256 of nothing), so a request cannot be replayed
with another body, path or method; the relay also refuses a timestamp outside its window and
a signature it has seen before. Wallets can produce the same signature with `personal_sign`.

The timestamp is in milliseconds because ECDSA signatures here are deterministic (RFC 6979):
the same request signed twice in one second would carry the same signature and be refused as
a replay. A client that signs two identical requests within one millisecond must move the
second one's timestamp on (the Python client does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_address, to_checksum_address

DOMAIN = "hydrogen-request-v1"
ADDRESS_HEADER = "X-Hydrogen-Address"
TIMESTAMP_HEADER = "X-Hydrogen-Timestamp"
SIGNATURE_HEADER = "X-Hydrogen-Signature"
SIGNATURE_BYTES = 65


class SignatureInvalid(ValueError):
    """A request's signature headers are missing, malformed, or were not made by the address."""


@dataclass(frozen=True)
class SignedHeaders:
    address: str
    timestamp: int
    signature: str  # 0x-hex

    def as_dict(self) -> dict[str, str]:
        return {
            ADDRESS_HEADER: self.address,
            TIMESTAMP_HEADER: str(self.timestamp),
            SIGNATURE_HEADER: self.signature,
        }


def canonical_message(method: str, path: str, timestamp: int, body: bytes) -> str:
    """The text that is signed. `path` includes the query string (`/v1/x?a=1`)."""
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join((DOMAIN, method.upper(), path, str(timestamp), body_hash))


def sign_request(
    private_key: bytes | str, method: str, path: str, timestamp: int, body: bytes
) -> SignedHeaders:
    account = Account.from_key(private_key)
    message = encode_defunct(text=canonical_message(method, path, timestamp, body))
    signed = account.sign_message(message)
    return SignedHeaders(account.address, timestamp, "0x" + bytes(signed.signature).hex())


def parse_signature(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is not hex: {value[:20]!r}") from None
    if len(raw) != SIGNATURE_BYTES:
        raise SignatureInvalid(
            f"{SIGNATURE_HEADER} must be {SIGNATURE_BYTES} bytes, got {len(raw)}"
        )
    return raw


def parse_address(value: str) -> str:
    if not is_address(value):
        raise SignatureInvalid(f"{ADDRESS_HEADER} is not an address: {value[:60]!r}")
    return str(to_checksum_address(value))


def parse_timestamp(value: str) -> int:
    if not value.isdigit() or len(value) > 15:
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} must be Unix milliseconds, got {value[:20]!r}")
    return int(value)


def recover_signer(method: str, path: str, timestamp: int, body: bytes, signature: bytes) -> str:
    """The checksummed address that signed this request."""
    message = encode_defunct(text=canonical_message(method, path, timestamp, body))
    try:
        return str(Account.recover_message(message, signature=signature))
    except Exception as exc:  # eth_keys raises several types for a bad (r, s, v)
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not recover to any key: {exc}") from exc


def verify_request(
    headers: dict[str, str], method: str, path: str, body: bytes, now_ms: int, window_s: int
) -> tuple[str, int, bytes]:
    """Check a request's signature headers (names in any case) at `now_ms` (Unix ms); return
    (signer, timestamp in ms, signature bytes). Raises SignatureInvalid naming what is wrong."""
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [
        h for h in (ADDRESS_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) if h.lower() not in lower
    ]
    if missing:
        raise SignatureInvalid(f"missing header(s): {', '.join(missing)}")
    claimed = parse_address(lower[ADDRESS_HEADER.lower()])
    timestamp = parse_timestamp(lower[TIMESTAMP_HEADER.lower()])
    signature = parse_signature(lower[SIGNATURE_HEADER.lower()])
    if abs(now_ms - timestamp) > window_s * 1000:
        raise SignatureInvalid(
            f"{TIMESTAMP_HEADER} {timestamp} is {(now_ms - timestamp) / 1000:+.1f}s from the "
            f"relay's clock ({now_ms}); allowed: ±{window_s}s"
        )
    signer = recover_signer(method, path, timestamp, body, signature)
    if signer != claimed:
        raise SignatureInvalid(
            f"signature was made by {signer}, not by {ADDRESS_HEADER} {claimed} "
            "(or over another method, path, timestamp or body)"
        )
    return signer, timestamp, signature
