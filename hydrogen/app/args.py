"""Task arguments from command-line options, checked by the parser the relay and every node
use (`schemas.task_args`) before anything is sent or paid for.

An `--args FILE` document is the starting point and each option given replaces its one field
(`--size` replaces the width and the height, `--message` the whole message list). With no
option given, the file's bytes are sent exactly as they are: the chain holds their keccak, and
a re-serialization would hash differently. Without a file, fields no option sets take the
defaults of the task format (Crynux's).

A refusal names the option that set the bad field (or the file, when the field came from it),
the field and the value: `--size: task_config.image_width=65: Input should be a multiple of 8`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from hydrogen.app.errors import ArgsRefused
from schemas.task_args import (
    TaskArgs,
    TaskArgsInvalid,
    TaskKind,
    args_hash,
    model_ids_of,
    parse_task_args,
)

DEFAULT_SD_MODEL = "tiny-sd15"
DEFAULT_LLM_MODEL = "tiny-gpt2"

_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


@dataclass(frozen=True)
class SDOptions:
    """What the command line says of an SD task; None: not given."""

    prompt: str | None = None
    negative: str | None = None
    model: str | None = None
    lora: str | None = None
    lora_weight: int | None = None
    steps: int | None = None
    seed: int | None = None
    size: tuple[int, int] | None = None
    num_images: int | None = None
    cfg: float | None = None


@dataclass(frozen=True)
class LLMOptions:
    """What the command line says of an LLM task; None or empty: not given."""

    messages: tuple[str, ...] = ()
    system: str | None = None
    model: str | None = None
    max_tokens: int | None = None
    seed: int | None = None


# The option that sets each field (a field path starts with one of these), for error messages.
_SD_OPTIONS = {
    "prompt": "--prompt",
    "negative_prompt": "--negative",
    "base_model": "--model",
    "lora.weight": "--lora-weight",
    "lora": "--lora",
    "task_config.steps": "--steps",
    "task_config.seed": "--seed",
    "task_config.image_width": "--size",
    "task_config.image_height": "--size",
    "task_config.num_images": "--num-images",
    "task_config.cfg": "--cfg",
}
_LLM_OPTIONS = {
    "model": "--model",
    "messages": "--message",
    "generation_config.max_new_tokens": "--max-tokens",
    "seed": "--seed",
}


_NESTED = ("task_config", "lora", "generation_config")  # objects options write fields into


@dataclass(frozen=True)
class TaskRequest:
    """Checked task arguments: the exact bytes to put on the relay and what the chain needs."""

    kind: TaskKind
    raw: bytes
    args: TaskArgs

    @property
    def args_hash(self) -> bytes:
        return args_hash(self.raw)

    @property
    def model_ids(self) -> list[str]:
        return model_ids_of(self.args)


def parse_size(text: str) -> tuple[int, int]:
    """`WIDTHxHEIGHT` as two integers; the task format checks their range."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not WIDTHxHEIGHT, e.g. 512x512")
    return int(match[1]), int(match[2])


@dataclass(frozen=True)
class ArgsFile:
    """An `--args` file: its name, its exact bytes and the JSON object they hold."""

    name: str
    raw: bytes
    document: Mapping[str, Any]

    @property
    def option(self) -> str:
        return f"--args {self.name}"


def read_args_file(name: str, raw: bytes) -> ArgsFile:
    """An `--args` file, or ArgsRefused naming it when it holds no JSON object."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArgsRefused(f"--args {name}", "", None, f"not a JSON document: {exc}") from exc
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise ArgsRefused(f"--args {name}", "", document, f"must be a JSON object, got a {kind}")
    return ArgsFile(name, raw, document)


def sd_request(options: SDOptions, args_file: ArgsFile | None = None) -> TaskRequest:
    """The SD task the options describe, on top of `args_file` when one is given."""
    given = _given(options)
    if args_file is not None and not given:
        return _checked(TaskKind.SD, args_file.raw, _SD_OPTIONS, given, args_file)
    document = _sd_document(options, _base(args_file))
    return _checked(TaskKind.SD, _encode(document), _SD_OPTIONS, given, args_file)


def llm_request(options: LLMOptions, args_file: ArgsFile | None = None) -> TaskRequest:
    """The LLM task the options describe, on top of `args_file` when one is given."""
    given = _given(options)
    if args_file is not None and not given:
        return _checked(TaskKind.LLM, args_file.raw, _LLM_OPTIONS, given, args_file)
    document = _llm_document(options, _base(args_file))
    return _checked(TaskKind.LLM, _encode(document), _LLM_OPTIONS, given, args_file)


def _sd_document(o: SDOptions, doc: dict[str, Any]) -> dict[str, Any]:
    if o.model is not None or "base_model" not in doc:
        doc["base_model"] = o.model or DEFAULT_SD_MODEL
    if o.prompt is not None:
        doc["prompt"] = o.prompt
    if o.negative is not None:
        doc["negative_prompt"] = o.negative
    if o.lora is not None or o.lora_weight is not None:
        lora = doc.get("lora") or {}
        if o.lora is not None:
            lora["model"] = o.lora
        if o.lora_weight is not None:
            lora["weight"] = o.lora_weight
        doc["lora"] = lora
    config = doc.get("task_config") or {}
    overrides = {
        "steps": o.steps,
        "seed": o.seed,
        "num_images": o.num_images,
        "cfg": o.cfg,
        "image_width": o.size[0] if o.size else None,
        "image_height": o.size[1] if o.size else None,
    }
    config.update({k: v for k, v in overrides.items() if v is not None})
    doc["task_config"] = config
    return doc


def _llm_document(o: LLMOptions, doc: dict[str, Any]) -> dict[str, Any]:
    if o.model is not None or "model" not in doc:
        doc["model"] = o.model or DEFAULT_LLM_MODEL
    if o.messages or o.system is not None:
        system = [{"role": "system", "content": o.system}] if o.system is not None else []
        users = [{"role": "user", "content": m} for m in o.messages]
        doc["messages"] = system + users
    if o.max_tokens is not None:
        doc["generation_config"] = {
            **(doc.get("generation_config") or {}),
            "max_new_tokens": o.max_tokens,
        }
    if o.seed is not None:
        doc["seed"] = o.seed
    return doc


def _base(args_file: ArgsFile | None) -> dict[str, Any]:
    """A copy of the file's document for options to write into, down to the objects they
    write fields of; one of those that is no object is refused, naming the file."""
    if args_file is None:
        return {}
    base = dict(args_file.document)
    for key in _NESTED:
        value = base.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            detail = f"{key}={value!r:.80}: must be a JSON object"
            raise ArgsRefused(args_file.option, key, value, detail)
        base[key] = dict(value)
    return base


def flag(name: str) -> str:
    """The command-line option of an `SDOptions` or `LLMOptions` field."""
    return "--message" if name == "messages" else "--" + name.replace("_", "-")


def _given(options: SDOptions | LLMOptions) -> set[str]:
    """The options whose values were given."""
    return {flag(f.name) for f in fields(options) if getattr(options, f.name) not in (None, ())}


def _encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _checked(
    kind: TaskKind,
    raw: bytes,
    options: Mapping[str, str],
    given: set[str],
    args_file: ArgsFile | None,
) -> TaskRequest:
    try:
        args = parse_task_args(kind, raw)
    except TaskArgsInvalid as exc:
        option = _option_for(exc.field, options, given, args_file)
        raise ArgsRefused(option, exc.field, exc.value, str(exc)) from exc
    return TaskRequest(kind, raw, args)


def _option_for(
    field: str, options: Mapping[str, str], given: set[str], args_file: ArgsFile | None
) -> str | None:
    """The option that put the bad field there: the one that sets it, unless the field came
    from the args file (the option was not given); None for a field no option sets."""
    option = next(
        (o for prefix, o in options.items() if field == prefix or field.startswith(prefix + ".")),
        None,
    )
    if args_file is not None and option not in given:
        return args_file.option
    return option
