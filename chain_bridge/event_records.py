"""Contract events as Avro records: the schema of each, the record of each log, its topic.

Chain events are typed records, one per event, derived from the contracts' ABIs by fixed
rules (below), so a contract change shows up as a schema change that the evolution test
checks. Every record starts with the same envelope: where the log is on the chain.

ABI type → Avro type:
    address            string (EIP-55 checksummed)
    bool               boolean
    intN / uintN       long up to 64 bits, else a decimal string: fees and ids are uint256 and
                       exceed any Avro number. A uint64 is in practice a timestamp or a count;
                       one past 2^63 - 1 cannot be encoded and its log goes to the DLQ.
    bytes, bytesN      bytes
    string             string
    T[], T[k]          array of T
    tuple              a record named <Event><Param>

Field names are the ABI names in snake_case. Two contracts emitting an event of one name
(e.g. `Credited`) get records prefixed with the contract's name, so every record name is unique.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address as _to_checksum_address

from schemas.catalog import CHAIN_CONTRACT_EVENTS, CHAIN_NODE_EVENTS, CHAIN_TASK_EVENTS, Topic

NAMESPACE = "network.hydrogen.chain"
# The contracts whose events the bridge ingests. Record names are made unique across this
# whole set, so it is fixed here rather than chosen per deployment.
PROTOCOL_CONTRACTS = ("NodeRegistry", "TaskManager")

ENVELOPE_FIELDS: list[dict[str, Any]] = [
    {
        "name": "event_id",
        "type": "string",
        "doc": "chainId:txHash:logIndex, unique and deterministic.",
    },
    {"name": "chain_id", "type": "long"},
    {"name": "contract", "type": "string", "doc": "Address of the emitting contract."},
    {"name": "block_number", "type": "long"},
    {"name": "block_hash", "type": "string"},
    {"name": "block_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "tx_hash", "type": "string"},
    {"name": "log_index", "type": "int"},
]
ENVELOPE_NAMES = [f["name"] for f in ENVELOPE_FIELDS]


@functools.lru_cache(maxsize=1 << 16)
def to_checksum_address(address: str) -> str:
    """EIP-55 form, cached: a keccak per address costs more than the rest of a log's
    decoding, and the same addresses (contracts, active nodes) recur in every range."""
    return str(_to_checksum_address(address))


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_ARRAY = re.compile(r"^(?P<item>.+)\[(?P<size>\d*)\]$")
_INT = re.compile(r"^(?P<sign>u?)int(?P<bits>\d*)$")


@functools.lru_cache(maxsize=1024)
def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


@functools.lru_cache(maxsize=256)
def fits_long(abi_type: str) -> bool:
    match = _INT.match(abi_type)
    if not match:
        return False
    return int(match["bits"] or 256) <= 64


def avro_type(param: Mapping[str, Any], record_name: str) -> Any:
    """The Avro type of one ABI parameter (see the module docstring)."""
    t = param["type"]
    array = _ARRAY.match(t)
    if array:
        return {"type": "array", "items": avro_type({**param, "type": array["item"]}, record_name)}
    if t == "tuple":
        return {
            "type": "record",
            "name": record_name + param["name"][:1].upper() + param["name"][1:],
            "fields": [
                {
                    "name": snake(c["name"]),
                    "type": avro_type(c, record_name + param["name"].title()),
                }
                for c in param["components"]
            ],
        }
    if t in {"address", "string"}:
        return "string"
    if t == "bool":
        return "boolean"
    if t == "bytes" or t.startswith("bytes"):
        return "bytes"
    if _INT.match(t):
        return "long" if fits_long(t) else "string"
    raise ValueError(f"no Avro type for ABI type {t!r} (parameter {param.get('name')!r})")


@dataclass(frozen=True)
class EventSpec:
    contract: str  # the contract's name, e.g. "TaskManager"
    abi: dict[str, Any]  # the event's ABI entry
    record: str  # the Avro record name

    @property
    def name(self) -> str:
        return str(self.abi["name"])

    @functools.cached_property
    def to_fields(self) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
        """Decoded arguments → record fields, built once per event."""
        return fields_converter(self.abi["inputs"])

    def schema(self) -> dict[str, Any]:
        return {
            "type": "record",
            "name": self.record,
            "namespace": NAMESPACE,
            "doc": f"{self.contract}.{self.name}, as emitted on chain.",
            "fields": [
                *ENVELOPE_FIELDS,
                *(
                    {"name": snake(p["name"]), "type": avro_type(p, self.record)}
                    for p in self.abi["inputs"]
                ),
            ],
        }


def event_specs(abis: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[EventSpec]:
    """One spec per event of each protocol contract, with the record names made unique."""
    missing = [c for c in PROTOCOL_CONTRACTS if c not in abis]
    if missing:
        raise ValueError(f"no ABI for {', '.join(missing)}; got {', '.join(sorted(abis))}")
    events = [
        (contract, dict(entry))
        for contract in PROTOCOL_CONTRACTS
        for entry in abis[contract]
        if entry.get("type") == "event" and not entry.get("anonymous")
    ]
    counts: dict[str, int] = {}
    for _, e in events:
        counts[e["name"]] = counts.get(e["name"], 0) + 1
    return [
        EventSpec(contract, e, e["name"] if counts[e["name"]] == 1 else contract + e["name"])
        for contract, e in events
    ]


Converter = Callable[[Any], Any]


def record_value(param: Mapping[str, Any], value: Any) -> Any:
    """A decoded ABI value as the Avro type of `param` holds it."""
    return converter(param)(value)


def converter(param: Mapping[str, Any]) -> Converter:
    """The function that turns a decoded value of `param` into what its Avro type holds.

    Worked out once per parameter: matching type strings per log cost more than the rest of
    the conversion (ingest builds one converter per event, see EventSpec.to_fields).
    """
    t = param["type"]
    name = param.get("name")
    array = _ARRAY.match(t)
    if array:
        item = converter({**param, "type": array["item"]})
        return lambda value: [item(v) for v in value]
    if t == "tuple":
        keys = tuple(c["name"] for c in param["components"])
        parts = tuple((snake(c["name"]), converter(c)) for c in param["components"])

        def to_record(value: Any) -> dict[str, Any]:
            items = [value[k] for k in keys] if isinstance(value, Mapping) else value
            return {n: f(v) for (n, f), v in zip(parts, items, strict=True)}

        return to_record
    if t == "address":
        return lambda value: to_checksum_address(value.lower() if isinstance(value, str) else value)
    if _INT.match(t):
        if not fits_long(t):
            return lambda value: str(int(value))

        def to_long(value: Any) -> int:
            v = int(value)
            if not -(2**63) <= v < 2**63:
                raise ValueError(f"{name!r} = {value} does not fit an Avro long")
            return v

        return to_long
    if t.startswith("bytes"):
        return bytes
    return _same


def _same(value: Any) -> Any:
    return value


def fields_converter(
    abi_inputs: Sequence[Mapping[str, Any]],
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Decoded event arguments (by ABI name) → the fields of the event's record."""
    parts = tuple((p["name"], snake(p["name"]), converter(p)) for p in abi_inputs)
    return lambda args: {field: f(args[name]) for name, field, f in parts}


def record_args(abi_inputs: Sequence[Mapping[str, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """The event's decoded arguments as the fields of its record."""
    return fields_converter(abi_inputs)(args)


def route(spec: EventSpec, contract_address: str, args: Mapping[str, Any]) -> tuple[Topic, str]:
    """The topic and key of one event: a task's events share its id as key (so they stay in
    order on one partition), a node's its address; the rest go by contract."""
    if spec.contract == "TaskManager" and "taskId" in args:
        return CHAIN_TASK_EVENTS, str(int(args["taskId"]))
    if spec.contract == "NodeRegistry":
        for name in ("node", "account"):
            if name in args:
                return CHAIN_NODE_EVENTS, to_checksum_address(args[name])
    return CHAIN_CONTRACT_EVENTS, to_checksum_address(contract_address)
