"""LLM task arguments: the Crynux gpt-task format (gpt_task/models/args.py).

    {"model": "Qwen/Qwen2.5-7B-Instruct",
     "messages": [{"role": "user", "content": "Why is the sky blue?"}],
     "generation_config": {"max_new_tokens": 200}}

We add bounds to `generation_config` that transformers would otherwise enforce only on the
node (a temperature of -1, 0 beams), and refuse unknown fields (see `StrictModel`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from schemas.task_args.fields import Dtype, NonEmptyStr, StrictModel

Role = Literal["system", "user", "assistant", "tool"]

MAX_NEW_TOKENS = 32768


class TextPart(StrictModel):
    type: Literal["text"]
    text: NonEmptyStr


class ImagePart(StrictModel):
    type: Literal["image"]
    base64: NonEmptyStr = Field(description="The image file, base64-encoded.")

    @field_validator("base64")
    @classmethod
    def _is_base64(cls, data: str) -> str:
        try:
            base64.b64decode(data, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"is not valid base64 ({exc})") from exc
        return data


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class Message(StrictModel):
    role: Role
    content: str | list[ContentPart] | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class GenerationConfig(StrictModel):
    """transformers `GenerationConfig` fields; None leaves the model's own default."""

    max_new_tokens: int = Field(default=256, ge=1, le=MAX_NEW_TOKENS)
    stop_strings: list[NonEmptyStr] | None = Field(default=None, max_length=16)
    do_sample: bool | None = None
    num_beams: int | None = Field(default=None, ge=1, le=16)
    temperature: float | None = Field(default=None, ge=0, le=10, allow_inf_nan=False)
    typical_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    min_p: float | None = Field(default=None, ge=0, le=1)
    repetition_penalty: float | None = Field(default=None, gt=0, le=10, allow_inf_nan=False)
    num_return_sequences: int | None = Field(default=None, ge=1, le=16)


def _null_as_defaults(value: object) -> object:
    # Crynux writes "no generation config" as null; it means every default.
    return {} if value is None else value


class LLMTaskArgs(StrictModel):
    model: NonEmptyStr = Field(description="An HF model id.")
    messages: list[Message] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    generation_config: Annotated[
        GenerationConfig,
        BeforeValidator(_null_as_defaults, json_schema_input_type=GenerationConfig | None),
    ] = Field(default_factory=GenerationConfig)
    template_args: dict[str, Any] | None = None
    seed: int = Field(default=0, ge=0, lt=2**63)
    dtype: Dtype = "auto"
    quantize_bits: Literal[4, 8] | None = None
