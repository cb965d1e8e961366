"""What can go wrong for an app, each naming the value at fault.

AppError (RuntimeError)
├── ArgsRefused        task arguments the network would refuse (.option, .field, .value)
├── SignerError        no key to sign with, or a keystore that does not open
├── EndpointError      no devnet folder, deployment file or relay to talk to
├── TxReverted         a transaction reverted: .error names the contract's custom error
├── TaskNotFound       the chain has no task with that id
├── TaskTimedOut       the task did not end within the time given (.status it was in)
└── ResultRejected     the task ended without a result, or its results do not match the chain
"""

from __future__ import annotations

from chain_bridge.revert import Revert


class AppError(RuntimeError):
    """Something an app asked for could not be done; the message says what and why."""


class ArgsRefused(AppError, ValueError):
    """Task arguments refused before anything was sent, naming the option and field."""

    def __init__(self, option: str | None, field: str, value: object, detail: str) -> None:
        self.option = option
        self.field = field
        self.value = value
        super().__init__(f"{option}: {detail}" if option else detail)


class SignerError(AppError):
    """No key to sign with, or a keystore that does not decrypt."""


class EndpointError(AppError):
    """The devnet folder, deployment file, RPC or relay is missing or unusable."""


class TxReverted(AppError):
    """A transaction reverted; `revert.name` is the custom error, e.g. "WrongTaskStatus"."""

    def __init__(self, function: str, revert: Revert, detail: str = "") -> None:
        self.function = function
        self.revert = revert
        super().__init__(f"{function} reverted: {revert.reason}{detail}")

    @property
    def error_name(self) -> str | None:
        return self.revert.name


class TaskNotFound(AppError):
    """The chain has no task with this id."""


class TaskTimedOut(AppError):
    """The task was still live when the time given ran out."""

    def __init__(self, task_id: int, status: str, waited_s: float) -> None:
        self.task_id = task_id
        self.status = status
        super().__init__(
            f"task {task_id} is still {status} after {waited_s:.0f}s; "
            f"follow it with `hydrogen task watch {task_id}`"
        )


class ResultRejected(AppError):
    """The task ended without a result (aborted, cancelled), or what the relay delivered does
    not match the result the chain validated."""
