"""Name the custom error a revert carries, with its arguments, from the contracts' ABIs.

Revert data is a 4-byte selector and ABI-encoded arguments. Solidity's own `Error(string)`
(require with a message) and `Panic(uint256)` (assert, overflow) are known here; everything
else is looked up among the `error` entries of the deployment's ABIs. Pure: data in, a
`Revert` out, so `TxOutcome.error_name` / `error_args_json` are unit-tested without a chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import (
    abi_to_signature,
    function_signature_to_4byte_selector,
    get_abi_input_types,
)
from eth_utils.address import to_checksum_address

_BUILTIN: tuple[Mapping[str, Any], ...] = (
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
)
# JavaScript readers lose precision past 2^53, so larger integers travel as strings.
_SAFE_INTEGER = 2**53


@dataclass(frozen=True)
class Revert:
    name: str | None  # the custom error, e.g. "NotSelectedNode"; None when unknown
    args_json: str | None  # its arguments as a JSON object by parameter name
    reason: str  # one line for people


class RevertDecoder:
    """Looks revert data up among the given error ABIs (parsed once)."""

    def __init__(self, error_abis: Iterable[Mapping[str, Any]]) -> None:
        self._by_selector: dict[bytes, Mapping[str, Any]] = {}
        for abi in (*_BUILTIN, *error_abis):
            selector = function_signature_to_4byte_selector(abi_to_signature(abi))  # type: ignore[arg-type]
            # Two contracts may declare the same error; the signature makes them one.
            self._by_selector.setdefault(selector, abi)

    def decode(self, data: bytes) -> Revert:
        if not data:
            return Revert(None, None, "reverted without data")
        abi = self._by_selector.get(data[:4])
        if abi is None:
            return Revert(None, None, f"reverted with unknown error data 0x{data.hex()}")
        types = get_abi_input_types(abi)  # type: ignore[arg-type]
        try:
            values = decode(types, data[4:])
        except (DecodingError, OverflowError, ValueError) as exc:
            return Revert(abi["name"], None, f"{abi['name']} with undecodable arguments: {exc}")
        names = [i.get("name") or f"arg{n}" for n, i in enumerate(abi["inputs"])]
        args = {n: _jsonable(v, t) for n, v, t in zip(names, values, types, strict=True)}
        shown = ", ".join(f"{n}={json.dumps(a)}" for n, a in args.items())
        return Revert(abi["name"], json.dumps(args), f"{abi['name']}({shown})")


def _jsonable(value: Any, typ: str) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < _SAFE_INTEGER else str(value)
    if typ == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, list | tuple):
        inner = typ.rsplit("[", 1)[0] if typ.endswith("]") else ""
        return [_jsonable(v, inner) for v in value]
    return value


def revert_data(value: Any) -> bytes:
    """The revert data of a JSON-RPC error's `data` (or of web3's exception), as bytes; b""
    when there is none or it is not hex."""
    if isinstance(value, dict):  # some nodes nest it: {"data": "0x…"}
        value = value.get("data")
    if not isinstance(value, str) or not value.startswith("0x"):
        return b""
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        return b""
