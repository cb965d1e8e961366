"""Keep the chain events' Avro schemas in step with the contracts' ABIs.

The schemas are derived (chain_bridge.event_records) but checked in, so that every version
ever released stays readable: when an event changes, `hydrogen schemas sync` writes the next
version beside the old ones instead of editing them, and the evolution test then proves the
change is additive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from chain_bridge.event_records import event_specs
from schemas.errors import SchemaError
from schemas.registry import AVRO_DIR, SchemaRegistry


def _canonical(schema: Any) -> str:
    return str(to_parsing_canonical_form(fastavro.parse_schema(schema, _write_hint=False)))


def stale_records(
    abis: Mapping[str, Sequence[Mapping[str, Any]]], folder: Path = AVRO_DIR
) -> dict[str, int]:
    """Records whose current schema differs from what the ABI now says: name → next version."""
    registry = SchemaRegistry(folder)
    stale = {}
    for spec in event_specs(abis):
        try:
            current = registry.current(spec.record)
        except SchemaError:
            stale[spec.record] = 1
            continue
        if to_parsing_canonical_form(current.parsed) != _canonical(spec.schema()):
            stale[spec.record] = current.version + 1
    return stale


def sync(abis: Mapping[str, Sequence[Mapping[str, Any]]], folder: Path = AVRO_DIR) -> list[Path]:
    """Write a new version for every stale record; return the files written."""
    specs = {s.record: s for s in event_specs(abis)}
    written = []
    for record, version in sorted(stale_records(abis, folder).items()):
        path = folder / f"{record}.v{version}.avsc"
        path.write_text(json.dumps(specs[record].schema(), indent=2) + "\n")
        written.append(path)
    return written
