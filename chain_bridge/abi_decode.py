"""Decoding of ABI-encoded event data, parsed once per event and fast per log.

eth_abi validates and dispatches generically on every call, which made decoding the largest
cost of ingest. Events have fixed types, so each type string is parsed once into a small tree
and the bytes are walked directly. Addresses come back lowercase (their EIP-55 form is
cached downstream); everything else in eth_abi's shapes: int, bool, bytes, str, tuple.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_ARRAY = re.compile(r"^(?P<item>.+)\[(?P<size>\d*)\]$")
_INT = re.compile(r"^(?P<sign>u?)int(?P<bits>\d*)$")
_BYTES_N = re.compile(r"^bytes(?P<n>\d+)$")
WORD = 32


@dataclass(frozen=True)
class AbiType:
    kind: str  # uint, int, address, bool, bytesN, bytes, string, array, fixed_array, tuple
    size: int = 0  # N of bytesN, k of T[k]
    item: AbiType | None = None
    components: tuple[AbiType, ...] = ()

    @functools.cached_property
    def dynamic(self) -> bool:
        if self.kind in ("bytes", "string", "array"):
            return True
        if self.kind == "fixed_array":
            assert self.item is not None
            return self.item.dynamic
        if self.kind == "tuple":
            return any(c.dynamic for c in self.components)
        return False

    @functools.cached_property
    def head_size(self) -> int:
        """Bytes this type takes in the head of its enclosing tuple."""
        if self.dynamic:
            return WORD
        if self.kind == "fixed_array":
            assert self.item is not None
            return self.size * self.item.head_size
        if self.kind == "tuple":
            return sum(c.head_size for c in self.components)
        return WORD


@functools.lru_cache(maxsize=512)
def parse(t: str) -> AbiType:
    """`t` as written in an event signature: tuples spelled out, e.g. `(uint32,uint32)[]`."""
    array = _ARRAY.match(t)
    if array and not t.endswith(")"):
        item = parse(array["item"])
        if array["size"]:
            return AbiType("fixed_array", int(array["size"]), item)
        return AbiType("array", item=item)
    if t.startswith("(") and t.endswith(")"):
        return AbiType("tuple", components=tuple(parse(c) for c in _split(t[1:-1])))
    integer = _INT.match(t)
    if integer:
        return AbiType("uint" if integer["sign"] else "int", int(integer["bits"] or 256))
    sized = _BYTES_N.match(t)
    if sized:
        return AbiType("bytesN", int(sized["n"]))
    if t in ("address", "bool", "bytes", "string"):
        return AbiType(t)
    raise ValueError(f"unsupported ABI type {t!r}")


def _split(inner: str) -> list[str]:
    """Split a tuple's component list at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if inner:
        parts.append(inner[start:])
    return parts


def decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """Decode `data` as the tuple of `types` (what eth_abi.decode(types, data) returns)."""
    return tuple(_tuple([parse(t) for t in types], data, 0))


def _word(data: bytes, at: int) -> int:
    if at < 0 or at + WORD > len(data):
        raise ValueError(f"ABI data too short: need 32 bytes at offset {at}, have {len(data)}")
    return int.from_bytes(data[at : at + WORD], "big")


def _tuple(parts: Sequence[AbiType], data: bytes, base: int) -> list[Any]:
    out = []
    at = base
    for p in parts:
        if p.dynamic:
            out.append(_value(p, data, base + _word(data, at)))
        else:
            out.append(_value(p, data, at))
        at += p.head_size
    return out


def _value(p: AbiType, data: bytes, at: int) -> Any:
    kind = p.kind
    if kind == "uint":
        return _word(data, at)
    if kind == "int":
        _word(data, at)  # bounds
        return int.from_bytes(data[at : at + WORD], "big", signed=True)
    if kind == "address":
        _word(data, at)
        return "0x" + data[at + 12 : at + WORD].hex()
    if kind == "bool":
        return _word(data, at) != 0
    if kind == "bytesN":
        _word(data, at)
        return bytes(data[at : at + p.size])
    if kind in ("bytes", "string"):
        n = _word(data, at)
        if at + WORD + n > len(data):
            raise ValueError(f"ABI {kind} of {n} bytes at offset {at} runs past the data")
        raw = bytes(data[at + WORD : at + WORD + n])
        return raw.decode() if kind == "string" else raw
    assert p.item is not None or kind == "tuple"
    if kind == "array":
        n = _word(data, at)
        if n > len(data):
            raise ValueError(f"ABI array claims {n} items in {len(data)} bytes")
        return tuple(_tuple([p.item] * n, data, at + WORD))  # type: ignore[list-item]
    if kind == "fixed_array":
        return tuple(_tuple([p.item] * p.size, data, at))  # type: ignore[list-item]
    return tuple(_tuple(p.components, data, at))
