"""Decoding of ABI-encoded event data, parsed once per event and fast per log.

eth_abi validates and dispatches generically on every call, which made decoding the largest
cost of ingest. Events have fixed types, so each type string is parsed once into a small tree
and the bytes are walked directly. Addresses come back lowercase (their EIP-55 form is
cached downstream); everything else in eth_abi's shapes: int, bool, bytes, str, tuple.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
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
    return decode_parsed([parse(t) for t in types], data)


def decode_parsed(parts: Sequence[AbiType], data: bytes) -> tuple[Any, ...]:
    """`decode` for types already parsed: what a caller decoding many logs of one event does."""
    return tuple_reader(tuple(parts))(data, 0)


def topic_decoder(t: str) -> Callable[[str], Any]:
    """Decode an indexed argument straight from its 0x-hex topic, as `decode([t], ...)` would.

    A topic is one word, so static types need no walk through the bytes: this is the hot path
    of ingest, where most arguments are an indexed task id or node address.
    """
    p = parse(t)
    if p.kind == "uint":
        return _topic_uint
    if p.kind == "address":
        return _topic_address
    if p.kind == "bool":
        return _topic_bool
    if p.kind == "bytesN" and p.size == WORD:
        return _topic_bytes32
    return lambda topic: decode_parsed([p], _topic_bytes(topic))[0]


def _topic_bytes(topic: str) -> bytes:
    raw = bytes.fromhex(topic[2:])
    if len(raw) != WORD:
        raise ValueError(f"a topic is 32 bytes, got {len(raw)}: {topic!r}")
    return raw


def _topic_uint(topic: str) -> int:
    return int.from_bytes(_topic_bytes(topic), "big")


def _topic_address(topic: str) -> str:
    return "0x" + _topic_bytes(topic)[12:].hex()


def _topic_bool(topic: str) -> bool:
    return int.from_bytes(_topic_bytes(topic), "big") != 0


def _topic_bytes32(topic: str) -> bytes:
    return _topic_bytes(topic)


Reader = Callable[[bytes, int], Any]  # (data, offset) → value


def _word(data: bytes, at: int) -> int:
    if at < 0 or at + WORD > len(data):
        raise ValueError(f"ABI data too short: need 32 bytes at offset {at}, have {len(data)}")
    return int.from_bytes(data[at : at + WORD], "big")


@functools.lru_cache(maxsize=512)
def tuple_reader(parts: tuple[AbiType, ...]) -> Callable[[bytes, int], tuple[Any, ...]]:
    """A reader of the tuple `parts`, put together once: per log it only walks the bytes."""
    plan = tuple((p.dynamic, p.head_size, _reader(p)) for p in parts)

    def read(data: bytes, base: int) -> tuple[Any, ...]:
        out = []
        at = base
        for dynamic, size, value in plan:
            out.append(value(data, base + _word(data, at)) if dynamic else value(data, at))
            at += size
        return tuple(out)

    return read


@functools.lru_cache(maxsize=512)
def _reader(p: AbiType) -> Reader:
    kind = p.kind
    if kind == "uint":
        return _word
    if kind == "int":
        return _int
    if kind == "address":
        return _address
    if kind == "bool":
        return _bool
    if kind == "bytesN":
        return functools.partial(_bytes_n, p.size)
    if kind == "bytes":
        return _bytes
    if kind == "string":
        return _string
    if kind == "tuple":
        return tuple_reader(p.components)
    assert p.item is not None
    item = p.item
    if kind == "fixed_array":
        return tuple_reader((item,) * p.size)
    return functools.partial(_array, item.dynamic, item.head_size, _reader(item))


def _int(data: bytes, at: int) -> int:
    _word(data, at)  # bounds
    return int.from_bytes(data[at : at + WORD], "big", signed=True)


def _address(data: bytes, at: int) -> str:
    _word(data, at)
    return "0x" + data[at + 12 : at + WORD].hex()


def _bool(data: bytes, at: int) -> bool:
    return _word(data, at) != 0


def _bytes_n(size: int, data: bytes, at: int) -> bytes:
    _word(data, at)
    return bytes(data[at : at + size])


def _bytes(data: bytes, at: int) -> bytes:
    n = _word(data, at)
    if at + WORD + n > len(data):
        raise ValueError(f"ABI bytes of {n} bytes at offset {at} runs past the data")
    return bytes(data[at + WORD : at + WORD + n])


def _string(data: bytes, at: int) -> str:
    n = _word(data, at)
    if at + WORD + n > len(data):
        raise ValueError(f"ABI string of {n} bytes at offset {at} runs past the data")
    return bytes(data[at + WORD : at + WORD + n]).decode()


def _array(dynamic: bool, size: int, item: Reader, data: bytes, at: int) -> tuple[Any, ...]:
    n = _word(data, at)
    if n > len(data):
        raise ValueError(f"ABI array claims {n} items in {len(data)} bytes")
    base = at + WORD
    heads = range(base, base + n * size, size)
    if dynamic:
        return tuple(item(data, base + _word(data, head)) for head in heads)
    return tuple(item(data, head) for head in heads)
