"""Errors of the analytics commands (`hydrogen events tail`, `hydrogen events export`).

AnalyticsError
  BadValue (ValueError)  a TIME, task id or node address that cannot be used; names it
  SourceError            no Kafka or Postgres to read, or it refused the read
  ExportError            the rows cannot be written as asked (a value too large for its
                         column, a file that cannot be written)
"""

from __future__ import annotations


class AnalyticsError(RuntimeError):
    """An analytics command cannot go on; the message says why and with which value."""


class BadValue(AnalyticsError, ValueError):
    """A value given on the command line that cannot be used; `value` is the value itself."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.value = value
        self.reason = reason


class SourceError(AnalyticsError):
    """Kafka or Postgres is not there, or does not hold what the command reads."""


class ExportError(AnalyticsError):
    """The export cannot write its rows as asked."""
