"""Bytes on the relay to a checked task: the one parser nodes and the relay share.

The relay parses arguments when a creator puts them, the nodes parse them again after checking
`keccak256(args) == argsHash`; both with `parse_task_args`, so what the relay accepts is what
every node can run, and a refusal names the same field on both sides.
"""

from __future__ import annotations

import json
from typing import Any

from eth_hash.auto import keccak
from pydantic import ValidationError

from schemas.task_args.errors import FieldError, TaskArgsInvalid
from schemas.task_args.kind import TaskKind
from schemas.task_args.llm import LLMTaskArgs
from schemas.task_args.sd import SDTaskArgs

TaskArgs = SDTaskArgs | LLMTaskArgs

_MODELS: dict[TaskKind, type[SDTaskArgs] | type[LLMTaskArgs]] = {
    TaskKind.SD: SDTaskArgs,
    TaskKind.LLM: LLMTaskArgs,
}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def parse_task_args(kind: TaskKind | str, raw: bytes) -> TaskArgs:
    """The arguments of a `kind` task from their bytes (UTF-8 JSON); raises TaskArgsInvalid."""
    model = _MODELS[_kind(kind)]
    data = _json_object(raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, data) from exc


def args_hash(raw: bytes) -> bytes:
    """keccak256 of the exact bytes: the `argsHash` a task carries on chain. Hash the bytes as
    stored, never a re-serialization: two encodings of the same arguments hash differently."""
    return bytes(keccak(bytes(raw)))


def task_args_json_schema(kind: TaskKind | str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a `kind` task's arguments, for apps and docs. The
    parser is the authority: the argument names each scheduler or preprocessor takes, and
    base64 that decodes, are checked there and not here."""
    model = _MODELS[_kind(kind)]
    return {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()}


def _kind(kind: TaskKind | str) -> TaskKind:
    try:
        return TaskKind(kind)
    except ValueError:
        raise ValueError(f"unknown task kind {kind!r}: expected one of SD, LLM") from None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text: {exc.reason} at byte {exc.start}"
        raise TaskArgsInvalid("", raw[exc.start : exc.start + 8], reason) from exc
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        reason = (
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        )
        raise TaskArgsInvalid("", text[exc.pos : exc.pos + 20], reason) from exc
    except ValueError as exc:
        raise TaskArgsInvalid("", None, f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        reason = f"task arguments must be a JSON object, got a JSON {_json_type(data)}"
        raise TaskArgsInvalid("", data, reason)
    return data


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _invalid(exc: ValidationError, data: dict[str, Any]) -> TaskArgsInvalid:
    located = [_locate(error, data) for error in exc.errors(include_url=False)]
    # A value that fits no member of a union is reported once per member; the member that
    # got furthest into the value says most, so drop the shallower reports under its path.
    kept = [
        error
        for path, through_union, error in located
        if not (
            through_union
            and any(len(p) > len(path) and p[: len(path)] == path for p, _, _ in located)
        )
    ]
    errors = tuple(kept)
    first = errors[0]
    return TaskArgsInvalid(first.field, first.value, first.reason, errors)


def _locate(error: Any, data: object) -> tuple[list[str], bool, FieldError]:
    """The error's path in the document, whether pydantic's location named a union member (its
    members' names are not fields, so they are left out), and the error as ours."""
    loc = error["loc"]
    path: list[str] = []
    node: object = data
    through_union = False
    for i, part in enumerate(loc):
        if _holds(node, part):
            node = node[part]  # type: ignore[index]
        elif not (i == len(loc) - 1 and error["type"] == "missing"):
            through_union = True
            continue
        path.append(str(part))
    missing = error["type"] == "missing"
    value = None if missing else error.get("input")
    return path, through_union, FieldError(".".join(path), value, _reason(error), missing)


def _holds(node: object, part: str | int) -> bool:
    """Whether `part` of a location is a key or an index of `node` in the document."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


_REASONS = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (unknown fields are refused: a typo would be ignored)",
}


def _reason(error: Any) -> str:
    if error["type"] in _REASONS:
        return _REASONS[error["type"]]
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
