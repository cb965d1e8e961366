"""The two kinds of task, named once for the chain, the topics and the relay.

The names are the symbols of the Avro enum `TaskKind` (schemas/avro/InferenceJob.v1.avsc);
the contract numbers them `TaskType { SD, LLM }` (contracts/src/HydrogenTypes.sol). A kind is a
`StrEnum` so that it goes into an Avro record or a JSON document as its name as it is, and
`TaskKind(x)` takes whatever a reader holds: the name in any case ("SD", "sd") from a topic or a
command line, or the contract's number (0, 1) from a chain event.
"""

from __future__ import annotations

import enum


class TaskKind(enum.StrEnum):
    SD = "SD"
    LLM = "LLM"

    @property
    def contract_value(self) -> int:
        """The `TaskType` number the contracts use for this kind."""
        return _CONTRACT_VALUES[self]

    @classmethod
    def _missing_(cls, value: object) -> TaskKind | None:
        if isinstance(value, str):
            return cls.__members__.get(value.upper())
        if isinstance(value, int) and not isinstance(value, bool):
            return next((k for k, v in _CONTRACT_VALUES.items() if v == value), None)
        return None


# TaskType in HydrogenTypes.sol; its numbers are part of the ABI.
_CONTRACT_VALUES = {TaskKind.SD: 0, TaskKind.LLM: 1}
