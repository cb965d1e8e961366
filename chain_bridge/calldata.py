"""Turn a tx request's contract, function and JSON arguments into call data, or say why not.

Pure: the deployment record (addresses and ABIs) comes in as data; nothing here talks to a
node. Arguments arrive as the JSON that `TxRequest.args_json` documents (bytes as 0x-hex
strings, integers beyond 2^53 as decimal strings) and are coerced against the function's
ABI types before eth_abi encodes them, so a wrong argument is refused here, naming the
argument, and never becomes a transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_abi.exceptions import EncodingError
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

from chain_bridge.errors import BadCallArguments, BadRequestKey, UnknownCallError

_ARRAY = re.compile(r"^(?P<inner>.+)\[(?P<size>[0-9]*)\]$")
_FIXED_BYTES = re.compile(r"^bytes(?P<size>[0-9]+)$")
_SENDABLE = ("nonpayable", "payable")


@dataclass(frozen=True)
class Call:
    """A contract call ready to sign: where it goes, what it carries."""

    contract: str
    function: str
    to: str  # checksummed
    data: bytes
    value_wei: int


@dataclass(frozen=True)
class DeployedContract:
    name: str
    address: str
    abi: tuple[Mapping[str, Any], ...]


class ContractBook:
    """The contracts a submitter may call, by the names the deployment record gives them."""

    def __init__(self, contracts: Mapping[str, DeployedContract]) -> None:
        self._contracts = dict(contracts)

    @classmethod
    def from_deployment(cls, record: Mapping[str, Any]) -> ContractBook:
        """From `deployment.json`: `{"contracts": {name: {"address", "abi", ...}}}`."""
        return cls(
            {
                name: DeployedContract(name, to_checksum_address(c["address"]), tuple(c["abi"]))
                for name, c in record["contracts"].items()
            }
        )

    @property
    def names(self) -> list[str]:
        return sorted(self._contracts)

    def error_abis(self) -> list[Mapping[str, Any]]:
        """Every custom error any of the contracts declares: what a revert may carry."""
        return [e for c in self._contracts.values() for e in c.abi if e.get("type") == "error"]

    def encode_call(
        self, contract: str, function: str, args_json: str, value_wei: str = "0"
    ) -> Call:
        """The call `contract.function(*args)`; RequestRejected subclasses say what is wrong."""
        deployed = self._contracts.get(contract)
        if deployed is None:
            raise UnknownCallError(
                f"no contract {contract!r} in the deployment; known: {', '.join(self.names)}"
            )
        try:
            args = json.loads(args_json)
        except ValueError as exc:
            raise BadCallArguments(f"args_json is not JSON ({exc}): {args_json[:200]!r}") from exc
        if not isinstance(args, list):
            raise BadCallArguments(f"args_json must be a JSON array, got {args_json[:200]!r}")
        abi = _function_abi(deployed, function, len(args))
        types = get_abi_input_types(abi)  # type: ignore[arg-type]
        names = [i.get("name") or f"#{n}" for n, i in enumerate(abi["inputs"])]
        coerced = [
            _coerce(arg, typ, component, f"{function}.{name}")
            for arg, typ, component, name in zip(args, types, abi["inputs"], names, strict=True)
        ]
        try:
            data = function_abi_to_4byte_selector(abi) + encode(types, coerced)  # type: ignore[arg-type]
        except (EncodingError, OverflowError, TypeError, ValueError) as exc:
            raise BadCallArguments(
                f"{contract}.{function}: arguments {args!r} do not encode: {exc}"
            ) from exc
        value = _wei(value_wei)
        if value and abi.get("stateMutability") != "payable":
            raise BadCallArguments(
                f"{contract}.{function} is not payable but value_wei is {value_wei!r}"
            )
        return Call(contract, function, deployed.address, data, value)


def check_request_key(key: bytes | None, signer: str) -> None:
    """A request must be keyed by its checksummed signer, as the catalog says."""
    if not is_checksum_address(signer):
        raise BadRequestKey(f"signer {signer!r} is not a checksummed address")
    if key != signer.encode():
        raise BadRequestKey(
            f"message key {key!r} is not the signer {signer}: the signer's nonces would split "
            "across partitions"
        )


def _function_abi(deployed: DeployedContract, function: str, arity: int) -> Mapping[str, Any]:
    candidates = [e for e in deployed.abi if e.get("type") == "function" and e["name"] == function]
    if not candidates:
        known = sorted({e["name"] for e in deployed.abi if e.get("type") == "function"})
        raise UnknownCallError(
            f"{deployed.name} has no function {function!r}; known: {', '.join(known)}"
        )
    fitting = [e for e in candidates if len(e["inputs"]) == arity]
    if len(fitting) != 1:
        arities = sorted(len(e["inputs"]) for e in candidates)
        raise BadCallArguments(
            f"{deployed.name}.{function} takes {' or '.join(map(str, arities))} arguments "
            f"(one overload each), got {arity}"
        )
    abi = fitting[0]
    if abi.get("stateMutability") not in _SENDABLE:
        raise UnknownCallError(
            f"{deployed.name}.{function} is {abi.get('stateMutability')}: "
            "a transaction to it would change nothing"
        )
    return abi


def _wei(value: str) -> int:
    if not value.isdigit():
        raise BadCallArguments(f"value_wei must be a non-negative decimal integer, got {value!r}")
    return int(value)


def _coerce(arg: Any, typ: str, component: Mapping[str, Any], where: str) -> Any:
    """`arg` (JSON) as the Python value eth_abi encodes for ABI type `typ`."""
    array = _ARRAY.match(typ)
    if array:
        if not isinstance(arg, list):
            raise BadCallArguments(f"{where} must be a JSON array for {typ}, got {arg!r}")
        if array["size"] and len(arg) != int(array["size"]):
            raise BadCallArguments(f"{where} must have {array['size']} items, got {len(arg)}")
        inner = {**component, "type": component["type"].rsplit("[", 1)[0]}
        inner_type = typ.rsplit("[", 1)[0]
        return [_coerce(a, inner_type, inner, f"{where}[{n}]") for n, a in enumerate(arg)]
    if typ.startswith("("):
        return _coerce_tuple(arg, component, where)
    return _scalar(arg, typ, where)


def _scalar(arg: Any, typ: str, where: str) -> Any:
    if typ.startswith(("uint", "int")):
        return _integer(arg, typ, where)
    if typ == "address":
        if not isinstance(arg, str) or not is_hex_address(arg):
            raise BadCallArguments(f"{where} must be a 0x address, got {arg!r}")
        if arg != arg.lower() and not is_checksum_address(arg):
            raise BadCallArguments(f"{where} has a wrong checksum: {arg!r}")
        return to_checksum_address(arg)
    if typ == "bool":
        if not isinstance(arg, bool):
            raise BadCallArguments(f"{where} must be true or false, got {arg!r}")
        return arg
    if typ == "string":
        if not isinstance(arg, str):
            raise BadCallArguments(f"{where} must be a string, got {arg!r}")
        return arg
    if typ == "bytes" or _FIXED_BYTES.match(typ):
        return _bytes(arg, typ, where)
    raise BadCallArguments(f"{where}: ABI type {typ!r} is not supported")


def _coerce_tuple(arg: Any, component: Mapping[str, Any], where: str) -> tuple[Any, ...]:
    parts: Sequence[Mapping[str, Any]] = component["components"]
    if isinstance(arg, dict):
        missing = [p["name"] for p in parts if p["name"] not in arg]
        if missing:
            raise BadCallArguments(f"{where} lacks {', '.join(missing)}")
        arg = [arg[p["name"]] for p in parts]
    if not isinstance(arg, list) or len(arg) != len(parts):
        raise BadCallArguments(f"{where} must be {len(parts)} values, got {arg!r}")
    types = get_abi_input_types({"inputs": parts})  # type: ignore[arg-type]
    return tuple(
        _coerce(a, t, p, f"{where}.{p['name']}") for a, t, p in zip(arg, types, parts, strict=True)
    )


def _integer(arg: Any, typ: str, where: str) -> int:
    # bool is an int in Python; a JSON true where a number belongs is a mistake, not a 1.
    if isinstance(arg, bool) or not isinstance(arg, int | str):
        raise BadCallArguments(f"{where} must be an integer or a decimal string, got {arg!r}")
    if isinstance(arg, str) and not re.fullmatch(r"-?[0-9]+", arg):
        raise BadCallArguments(f"{where} must be a decimal integer string, got {arg!r}")
    value = int(arg)
    bits = int(re.sub(r"^u?int", "", typ) or 256)
    low, high = (
        (0, 2**bits - 1) if typ.startswith("uint") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )
    if not low <= value <= high:
        raise BadCallArguments(f"{where} = {value} does not fit {typ}")
    return value


def _bytes(arg: Any, typ: str, where: str) -> bytes:
    if not isinstance(arg, str) or not re.fullmatch(r"0x([0-9a-fA-F]{2})*", arg):
        raise BadCallArguments(f"{where} must be a 0x-hex string of whole bytes, got {arg!r}")
    value = bytes.fromhex(arg[2:])
    fixed = _FIXED_BYTES.match(typ)
    if fixed and len(value) != int(fixed["size"]):
        raise BadCallArguments(f"{where} must be {fixed['size']} bytes for {typ}, got {len(value)}")
    return value
