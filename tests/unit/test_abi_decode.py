from __future__ import annotations

import pytest
from eth_abi import encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain_bridge.abi_decode import decode, parse

uint256 = st.integers(0, 2**256 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)
address = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
text = st.text(max_size=40)
blob = st.binary(max_size=70)

CASES = {
    "uint256": uint256,
    "uint8": st.integers(0, 255),
    "int64": int64,
    "address": address,
    "bool": st.booleans(),
    "bytes32": st.binary(min_size=32, max_size=32),
    "bytes": blob,
    "string": text,
    "string[]": st.lists(text, max_size=4).map(tuple),
    "uint256[]": st.lists(uint256, max_size=4).map(tuple),
    "address[3]": st.tuples(address, address, address),
    "(uint32,uint32,uint32,uint32)": st.tuples(*[st.integers(0, 2**32 - 1)] * 4),
    "bytes[2]": st.tuples(blob, blob),
}


def _normal(value: object) -> object:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    if isinstance(value, tuple | list):
        return tuple(_normal(v) for v in value)
    return value


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(sorted(CASES)), min_size=1, max_size=6).flatmap(
        lambda types: st.tuples(st.just(types), st.tuples(*[CASES[t] for t in types]))
    )
)
def test_decoding_agrees_with_eth_abi(case: tuple[list[str], tuple]) -> None:
    types, values = case
    data = encode(types, list(values))
    assert decode(types, data) == _normal(values)


def test_short_data_is_refused_with_the_offset() -> None:
    with pytest.raises(ValueError, match="need 32 bytes at offset 32, have 40"):
        decode(["uint256", "uint256"], b"\x00" * 40)


def test_a_string_longer_than_the_data_is_refused() -> None:
    data = (32).to_bytes(32, "big") + (1000).to_bytes(32, "big") + b"abc"
    with pytest.raises(ValueError, match="runs past the data"):
        decode(["string"], data)


def test_an_unsupported_type_is_named() -> None:
    with pytest.raises(ValueError, match="'fixed128x18'"):
        parse("fixed128x18")
