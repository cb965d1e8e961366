"""Raw logs of the protocol contracts → (event spec, decoded arguments)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from chain_bridge.abi_decode import parse, topic_decoder, tuple_reader
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
class _Plan:
    """What decoding one event needs, worked out once per event."""

    spec: EventSpec
    # (name, decoder of its topic) of each indexed argument
    indexed: tuple[tuple[str, Callable[[str], Any]], ...]
    plain_names: tuple[str, ...]
    plain: Callable[[bytes, int], tuple[Any, ...]]  # reads the non-indexed arguments

    @classmethod
    def of(cls, spec: EventSpec) -> _Plan:
        inputs = spec.abi["inputs"]
        plain = [p for p in inputs if not p["indexed"]]
        return cls(
            spec,
            tuple((p["name"], topic_decoder(canonical_type(p))) for p in inputs if p["indexed"]),
            tuple(p["name"] for p in plain),
            tuple_reader(tuple(parse(canonical_type(p)) for p in plain)),
        )


@dataclass(frozen=True)
class DecodedLog:
    spec: EventSpec
    args: dict[str, Any]


class EventDecoder:
    def __init__(
        self, addresses: Mapping[str, str], abis: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> None:
        """`addresses`: contract name → address, for the protocol contracts."""
        self._by_topic: dict[tuple[str, str], _Plan] = {}
        for spec in event_specs(abis):
            self._by_topic[(addresses[spec.contract].lower(), topic0(spec.abi))] = _Plan.of(spec)

    def decode(self, log: Mapping[str, Any]) -> DecodedLog:
        address = str(log["address"]).lower()
        topics = list(log["topics"])
        plan = self._by_topic.get((address, topics[0].lower())) if topics else None
        if plan is None:
            raise LogDecodeError(
                f"log {log.get('transactionHash')}:{int(log['logIndex'], 16)} of {address} matches "
                f"no known event (topic0 {topics[0] if topics else 'none'})"
            )
        spec = plan.spec
        if len(topics) - 1 != len(plan.indexed):
            raise LogDecodeError(
                f"{spec.contract}.{spec.name} has {len(plan.indexed)} indexed arguments, the log "
                f"{len(topics) - 1} topics"
            )
        try:
            args = {
                name: decode(topic)
                for (name, decode), topic in zip(plan.indexed, topics[1:], strict=True)
            }
            values = plan.plain(bytes.fromhex(log["data"][2:]), 0)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LogDecodeError(
                f"{spec.contract}.{spec.name} data does not decode: {exc}"
            ) from exc
        args.update(zip(plan.plain_names, values, strict=True))
        return DecodedLog(spec, args)
