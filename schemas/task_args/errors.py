"""The one error of task arguments, naming the field, the value and why it was refused.

TaskArgsInvalid (a ValueError)   the arguments are not a task we can run
  .field    dotted path of the first bad field ("task_config.steps", "messages.0.role");
            "" for the document as a whole (malformed JSON, not an object)
  .value    the value found there (None when the field is missing)
  .reason   what was wrong, in words
  .errors   every bad field, first one first (FieldError each)
"""

from __future__ import annotations

from dataclasses import dataclass

_MAX_VALUE_REPR = 80


@dataclass(frozen=True)
class FieldError:
    """One bad field of a task's arguments."""

    field: str
    value: object
    reason: str
    missing: bool = False  # the field is absent, so `value` (None) was never given

    def __str__(self) -> str:
        where = self.field or "<arguments>"
        if self.missing:
            return f"{where}: {self.reason}"
        return f"{where}={_short_repr(self.value)}: {self.reason}"


class TaskArgsInvalid(ValueError):
    """The task arguments are malformed or break a rule; names the first bad field."""

    def __init__(
        self, field: str, value: object, reason: str, errors: tuple[FieldError, ...] = ()
    ) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        self.errors = errors or (FieldError(field, value, reason),)
        more = len(self.errors) - 1
        message = str(self.errors[0]) + (f" (and {more} more)" if more else "")
        super().__init__(message)

    def __reduce__(self) -> tuple[type[TaskArgsInvalid], tuple[object, ...]]:
        return (type(self), (self.field, self.value, self.reason, self.errors))


def _short_repr(value: object) -> str:
    """The value as it reads in an error, cut short: an image's base64 is no help there."""
    text = repr(value)
    if len(text) <= _MAX_VALUE_REPR:
        return text
    return f"{text[: _MAX_VALUE_REPR - 3]}... ({len(text)} chars)"
