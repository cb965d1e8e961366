"""Raw logs of the protocol contracts → (event spec, decoded arguments)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from chain_bridge.errors import ChainBridgeError
from chain_bridge.event_records import EventSpec, event_specs


class LogDecodeError(ChainBridgeError, ValueError):
    """A log of one of our contracts that matches no event, or whose data does not decode."""


def canonical_type(param: Mapping[str, Any]) -> str:
    """The ABI type as it appears in an event signature (tuples spelled out)."""
    t = str(param["type"])
    if t.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){t[len('tuple') :]}"
    return t


def topic0(abi: Mapping[str, Any]) -> str:
    signature = f"{abi['name']}({','.join(canonical_type(p) for p in abi['inputs'])})"
    return "0x" + keccak(text=signature).hex()


@dataclass(frozen=True)
class DecodedLog:
    spec: EventSpec
    args: dict[str, Any]


class EventDecoder:
    def __init__(
        self, addresses: Mapping[str, str], abis: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> None:
        """`addresses`: contract name → address, for the protocol contracts."""
        self._by_topic: dict[tuple[str, str], EventSpec] = {}
        for spec in event_specs(abis):
            address = to_checksum_address(addresses[spec.contract])
            self._by_topic[(address, topic0(spec.abi))] = spec

    def decode(self, log: Mapping[str, Any]) -> DecodedLog:
        address = to_checksum_address(log["address"])
        topics = list(log["topics"])
        spec = self._by_topic.get((address, topics[0].lower())) if topics else None
        if spec is None:
            raise LogDecodeError(
                f"log {log.get('transactionHash')}:{int(log['logIndex'], 16)} of {address} matches "
                f"no known event (topic0 {topics[0] if topics else 'none'})"
            )
        inputs = spec.abi["inputs"]
        indexed = [p for p in inputs if p["indexed"]]
        plain = [p for p in inputs if not p["indexed"]]
        if len(topics) - 1 != len(indexed):
            raise LogDecodeError(
                f"{spec.contract}.{spec.name} has {len(indexed)} indexed arguments, the log "
                f"{len(topics) - 1} topics"
            )
        try:
            args = {
                p["name"]: abi_decode([canonical_type(p)], bytes.fromhex(t[2:]))[0]
                for p, t in zip(indexed, topics[1:], strict=True)
            }
            values = abi_decode([canonical_type(p) for p in plain], bytes.fromhex(log["data"][2:]))
        except (DecodingError, ValueError, OverflowError) as exc:
            raise LogDecodeError(
                f"{spec.contract}.{spec.name} data does not decode: {exc}"
            ) from exc
        args.update({p["name"]: v for p, v in zip(plain, values, strict=True)})
        return DecodedLog(spec, args)
