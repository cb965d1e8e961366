"""Checks for the small `args` maps of a scheduler or a ControlNet preprocessor.

Those maps go to diffusers or the preprocessor as keyword arguments, so a name the method does
not take is a typo (refused, like every unknown field) and a value must be a JSON scalar of the
right kind. A null value means "the method's default" and is dropped, so a consumer can pass the
map on as `**args`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

ArgValue = bool | int | float | str | None
ArgKind = Literal["bool", "number", "int", "str"]


def checked_args(
    method: str, args: Mapping[str, ArgValue] | None, allowed: Mapping[str, ArgKind]
) -> dict[str, ArgValue]:
    """`args` without its nulls, once every name is one `method` takes, with a value of its kind."""
    kept: dict[str, ArgValue] = {}
    for name, value in (args or {}).items():
        kind = allowed.get(name)
        if kind is None:
            known = ", ".join(sorted(allowed)) or "none"
            raise ValueError(f"{method} takes no argument {name!r} (it takes: {known})")
        if value is None:
            continue
        if not _is_kind(value, kind):
            raise ValueError(f"{method} argument {name!r} must be a {kind}, got {value!r}")
        kept[name] = value
    return kept


def _is_kind(value: ArgValue, kind: ArgKind) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if isinstance(value, bool):  # JSON true is not the number 1
        return False
    if kind == "int":
        return isinstance(value, int)
    return isinstance(value, int | float)
