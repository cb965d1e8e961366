"""Errors of the pure domain. Each names the value that was wrong.

    DomainError
    ├── MalformedRecord      a record lacks a field or holds a value of the wrong kind
    ├── UnknownRecord        a record name this domain has no typed view for
    ├── TransitionRejected   an event the task's status does not allow (not in TRANSITIONS)
    ├── WrongTask            an event of another task (or node) than the state's
    ├── NodeStatusMismatch   NodeStatusChanged.from differs from the status we hold
    ├── RetractionTooDeep    a retracted event older than the history a state keeps
    └── BadInferenceResult   an inference result that cannot be committed

The faust agents catch DomainError and send the input to the topic's `.dlq` with the message:
an error here means our view and the chain disagree, which a person must look at.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the pure domain raises."""


class MalformedRecord(DomainError):
    pass


class UnknownRecord(DomainError):
    pass


class TransitionRejected(DomainError):
    pass


class WrongTask(DomainError):
    pass


class NodeStatusMismatch(DomainError):
    pass


class RetractionTooDeep(DomainError):
    pass


class BadInferenceResult(DomainError):
    pass
