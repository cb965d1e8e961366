"""A task's fee as the command line writes it, in wei.

    10000000000000000      wei (an integer with no unit)
    0.01eth  0.01 ETH      ether
    5gwei                  gwei
    123wei                 wei

A bare decimal such as `0.01` is refused rather than guessed: read as wei it is no amount,
read as ether it would be the one way to pay 10^18 times what was meant.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

WEI_PER = {"wei": 1, "gwei": 10**9, "eth": 10**18, "ether": 10**18}
_FEE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_fee(text: str) -> int:
    """The fee in wei; ValueError naming the text when it is no positive whole number of wei."""
    match = _FEE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an amount: give wei (10000000000000000) or 0.01eth")
    number, unit = match[1], match[2].lower()
    if unit and unit not in WEI_PER:
        units = ", ".join(WEI_PER)
        raise ValueError(f"{text!r} has an unknown unit {match[2]!r} (known: {units})")
    if not unit and not number.isdigit():
        raise ValueError(f"{text!r} has no unit: a whole number is wei; write ether as {number}eth")
    try:
        wei = Decimal(number) * WEI_PER[unit or "wei"]
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(f"{text!r} is not an amount") from exc
    if wei != wei.to_integral_value():
        raise ValueError(f"{text!r} is a fraction of a wei")
    if wei <= 0:
        raise ValueError(f"{text!r}: a task's fee must be more than 0")
    return int(wei)


def format_wei(wei: int) -> str:
    """`0.01 ETH` for amounts of at least a millionth of an ether, else `123 wei`."""
    if wei >= 10**12:
        ether = (Decimal(wei) / WEI_PER["eth"]).normalize()
        return f"{ether:f} ETH"
    return f"{wei} wei"
