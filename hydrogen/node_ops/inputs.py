"""The operator's values, checked before anything is published: each refusal names the value.

Pure: limits read from the chain (the registry's `minStake`, its VRAM tier floors, the node's
balance) come in as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Context, Decimal, InvalidOperation

from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

from hydrogen.node_ops.errors import NodeInputError

WEI_PER_ETH = 10**18
_UNITS = {"wei": 1, "gwei": 10**9, "eth": WEI_PER_ETH, "ether": WEI_PER_ETH}
# Wide enough for any uint256 amount written in wei or in ETH with 18 decimals.
_EXACT = Context(prec=100)
_AMOUNT = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[a-zA-Z]*)\s*$")

# The kinds of model id, as schemas/task_args/model_ids.py defines them; the kinds whose
# name may end in `+variant` are split at the last '+'.
MODEL_KINDS = ("base", "unet", "vae", "lora", "controlnet", "textual_inversion", "refiner", "llm")
VARIANT_KINDS = frozenset({"base", "controlnet", "refiner"})

UINT32_MAX = 2**32 - 1
REQUEST_ID_PREFIX = "cli:"
_REQUEST_ID_MAX = 200


def node_address(value: str, param: str = "--node") -> str:
    """`value` as a checksummed address; one whose mixed case breaks its checksum is refused
    (a typo, most likely). All-lowercase addresses carry no checksum and are accepted."""
    text = value.strip()
    if not text.startswith("0x") or not is_hex_address(text):
        raise NodeInputError(param, value, "not an address (0x and 40 hex digits)")
    body = text[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(text):
        raise NodeInputError(
            param, value, "wrong EIP-55 checksum (mixed case that does not match the address)"
        )
    return str(to_checksum_address(text))


def model_id(value: str, param: str = "--model") -> str:
    """A model id in the `kind:name[+variant]` form that tasks and nodes share."""
    kind, sep, name = value.partition(":")
    if not sep:
        raise NodeInputError(
            param, value, f"not a model id: expected KIND:NAME with KIND one of {_kinds()}"
        )
    if kind not in MODEL_KINDS:
        raise NodeInputError(param, value, f"unknown model kind {kind!r}; known: {_kinds()}")
    if not name or name != name.strip() or any(c.isspace() for c in name):
        raise NodeInputError(param, value, "the model name must be non-empty, without spaces")
    if kind in VARIANT_KINDS and name.endswith("+"):
        raise NodeInputError(param, value, "an empty variant after '+'")
    return value


def model_ids(values: Iterable[str], param: str = "--model") -> tuple[str, ...]:
    """At least one model id, each valid and named once."""
    checked: list[str] = []
    for value in values:
        if model_id(value, param) in checked:
            raise NodeInputError(param, value, "given twice")
        checked.append(value)
    if not checked:
        raise NodeInputError(param, "", "a node must hold at least one model")
    return tuple(checked)


def amount_wei(value: str, param: str) -> int:
    """An amount of the native currency: `400` or `400eth` (ETH), `0.5ether`, `10gwei`,
    `123wei`. A bare number is ETH: stakes are hundreds of ETH, never a few wei."""
    match = _AMOUNT.match(value)
    if match is None:
        raise NodeInputError(param, value, "not an amount; write e.g. 400, 400eth, 10gwei, 5wei")
    unit = match["unit"].lower() or "eth"
    if unit not in _UNITS:
        raise NodeInputError(param, value, f"unknown unit {match['unit']!r}; use eth, gwei or wei")
    try:
        wei = _EXACT.multiply(Decimal(match["number"]), _UNITS[unit])
    except InvalidOperation as exc:  # the pattern admits only decimals; kept for safety
        raise NodeInputError(param, value, "not a number") from exc
    if wei != wei.to_integral_value():
        raise NodeInputError(param, value, "not a whole number of wei")
    return int(wei)


def stake_wei(value: str | None, min_stake: int, param: str = "--stake") -> int:
    """The stake to send: `value` if given, else the registry's minimum; never less than it."""
    if value is None:
        return min_stake
    wei = amount_wei(value, param)
    if wei < min_stake:
        raise NodeInputError(
            param,
            value,
            f"{format_wei(wei)} is less than the registry's minStake {format_wei(min_stake)}",
        )
    return wei


def top_up_wei(value: str, param: str = "--amount") -> int:
    wei = amount_wei(value, param)
    if wei <= 0:
        raise NodeInputError(param, value, "a top-up must be more than 0")
    return wei


def vram_gb(value: int, tier_floors: tuple[int, ...], param: str = "--vram") -> int:
    """VRAM in GB, at least the lowest tier floor of the registry (or the join reverts)."""
    if not 0 < value <= UINT32_MAX:
        raise NodeInputError(param, value, f"must be in [1, {UINT32_MAX}] GB")
    if tier_floors and value < tier_floors[0]:
        raise NodeInputError(
            param,
            value,
            f"below the registry's lowest VRAM tier ({tier_floors[0]} GB; tiers: "
            f"{', '.join(map(str, tier_floors))})",
        )
    return value


def gpu_name(value: str, param: str = "--gpu-name") -> str:
    name = value.strip()
    if not name:
        raise NodeInputError(param, value, "the GPU name must not be empty")
    return name


def funds_cover(
    balance: int, value_wei: int, gas_allowance_wei: int, node: str, param: str = "--node"
) -> None:
    """The node pays the value and the gas: a request it cannot pay would never be mined."""
    need = value_wei + gas_allowance_wei
    if balance < need:
        raise NodeInputError(
            param,
            node,
            f"holds {format_wei(balance)}, less than the {format_wei(value_wei)} to send plus "
            f"about {format_wei(gas_allowance_wei)} of gas",
        )


def request_id(value: str, param: str = "--request-id") -> str:
    """An id given to repeat an earlier request: ours start with `cli:`, so no other
    component (the streams worker routes ids of the form `chain:task:…`) takes its outcome
    for one of theirs."""
    if not value.startswith(REQUEST_ID_PREFIX):
        raise NodeInputError(
            param, value, f"must start with {REQUEST_ID_PREFIX!r} (as the ids this command prints)"
        )
    if len(value) > _REQUEST_ID_MAX or any(c.isspace() for c in value):
        raise NodeInputError(param, value, f"at most {_REQUEST_ID_MAX} characters, no spaces")
    return value


def format_wei(wei: int) -> str:
    """`400 ETH`, `0.25 ETH`, or `12345 wei` below a millionth of an ETH."""
    if wei != 0 and abs(wei) < 10**12:
        return f"{wei} wei"
    eth = _EXACT.divide(Decimal(wei), WEI_PER_ETH)
    text = f"{eth:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} ETH"


def _kinds() -> str:
    return ", ".join(MODEL_KINDS)
