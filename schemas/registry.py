"""Every version of every record schema, loaded once from `schemas/avro/`.

Files are named `<Name>.v<N>.avsc`, one named record each; the highest N is the current
(reader) schema. Old versions stay in the repository forever, so a consumer can read anything
ever written: evolution is additive (new fields with defaults), and a test proves that every
old version still resolves against the current one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.errors import SchemaError

AVRO_DIR = Path(__file__).resolve().parent / "avro"
FILE_NAME = re.compile(r"^(?P<name>[A-Z][A-Za-z0-9]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")


@dataclass(frozen=True)
class SchemaVersion:
    name: str  # the record's short name, e.g. "TxRequest"
    full_name: str  # with its namespace
    version: int
    parsed: Any  # fastavro's parsed schema
    fingerprint: bytes  # CRC-64-AVRO of the canonical form, 8 bytes little-endian


class SchemaRegistry:
    def __init__(self, folder: Path = AVRO_DIR) -> None:
        self._versions: dict[str, list[SchemaVersion]] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for path in sorted(folder.glob("*.avsc")):
            version = _load(path)
            self._versions.setdefault(version.name, []).append(version)
            clash = self._by_fingerprint.get(version.fingerprint)
            if clash is not None:
                raise SchemaError(
                    f"{path.name} is identical to {clash.name}.v{clash.version}.avsc; "
                    "a new version must change the schema"
                )
            self._by_fingerprint[version.fingerprint] = version
        for name, versions in self._versions.items():
            versions.sort(key=lambda v: v.version)
            numbers = [v.version for v in versions]
            if numbers != list(range(1, len(numbers) + 1)):
                raise SchemaError(
                    f"versions of {name} must be 1, 2, 3... without gaps; found {numbers}"
                )
            if len({v.full_name for v in versions}) != 1:
                raise SchemaError(f"every version of {name} must keep one full name")

    @property
    def names(self) -> list[str]:
        return sorted(self._versions)

    def current(self, name: str) -> SchemaVersion:
        try:
            return self._versions[name][-1]
        except KeyError:
            raise SchemaError(f"no schema named {name!r}; known: {', '.join(self.names)}") from None

    def versions(self, name: str) -> list[SchemaVersion]:
        self.current(name)  # raises with the known names
        return list(self._versions[name])

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        return self._by_fingerprint.get(fp)


def _load(path: Path) -> SchemaVersion:
    match = FILE_NAME.match(path.name)
    if not match:
        raise SchemaError(f"schema file {path.name!r} is not named <Name>.v<N>.avsc")
    try:
        raw = json.loads(path.read_text())
        # The write hint marks the schema as parsed, so fastavro does not parse it again on
        # every record it writes or reads (twice the speed of the codec).
        parsed = fastavro.parse_schema(raw)
    except (ValueError, fastavro.schema.SchemaParseException) as exc:
        raise SchemaError(f"{path.name}: {exc}") from exc
    if raw.get("type") != "record" or raw.get("name") != match["name"]:
        raise SchemaError(f"{path.name} must define one record named {match['name']!r}")
    full_name = f"{raw['namespace']}.{raw['name']}" if raw.get("namespace") else raw["name"]
    fp_hex = fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")
    return SchemaVersion(
        name=match["name"],
        full_name=full_name,
        version=int(match["version"]),
        parsed=parsed,
        # fastavro gives the bytes little-endian, as single-object encoding writes them.
        fingerprint=bytes.fromhex(fp_hex),
    )


def unreadable_versions(registry: SchemaRegistry, samples: int = 25) -> list[str]:
    """Old versions whose records the current reader cannot resolve, with the reason.

    Checked on generated records of each old version, encoded and decoded for real: an empty
    list means every message ever written can still be read.
    """
    from fastavro.utils import generate_many  # noqa: PLC0415  (only this check needs it)

    from schemas.codec import Codec, encode_with  # noqa: PLC0415  (codec builds on this module)

    codec = Codec(registry)
    problems = []
    for name in registry.names:
        for old in registry.versions(name)[:-1]:
            for record in generate_many(old.parsed, samples):
                try:
                    codec.decode(encode_with(old, record), expect=name)
                except ValueError as exc:
                    problems.append(f"{name}.v{old.version}: {exc}")
                    break
    return problems
