"""Field types that the SD and LLM arguments share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

NonEmptyStr = Annotated[str, Field(min_length=1)]
"""A model id, a prompt: Crynux refuses an empty one, and so do we."""

Dtype = Literal["float16", "bfloat16", "float32", "auto"]
"""The dtype a node runs the model in; "auto" lets the node pick the model's own."""

Percent = Annotated[int, Field(gt=0, le=100)]
"""A weight or a fraction as Crynux writes it: an integer percent, 1 to 100."""


def _empty_as_none(value: object) -> object:
    return None if value == "" else value


OptionalModelId = Annotated[
    NonEmptyStr | None, BeforeValidator(_empty_as_none, json_schema_input_type=str | None)
]
"""An optional model id. Crynux writes "no model" as "" (its default), others as null or by
leaving the field out; all three read as None here."""


class StrictModel(BaseModel):
    """A part of the task arguments: unknown fields are refused.

    Crynux's own models ignore unknown fields, so `"stpes": 30` would silently run 1 step;
    three nodes would then agree on a result the creator did not ask for, and pay for it. A
    typo is the creator's error, and it is cheapest to say so when the arguments are put on
    the relay, before any node is paid. Free-form maps (tools, scheduler arguments) are
    checked by their own rules.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
