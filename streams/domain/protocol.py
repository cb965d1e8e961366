"""The contracts' enums, with the numeric values `HydrogenTypes.sol` gives them.

Chain records carry these as numbers (`TaskAborted.reason`, `NodeStatusChanged.to`, ...);
the names are what read models show. The values are part of the ABI, so a member added on
chain is added here at the same place.
"""

from __future__ import annotations

from enum import IntEnum


class TaskType(IntEnum):
    SD = 0
    LLM = 1


class TaskStatus(IntEnum):
    # NONE is the contract's "no such task"; the read model also uses it for the instant
    # between TaskCreated and the TaskQueued / TaskStarted of the same transaction.
    NONE = 0
    QUEUED = 1
    RUNNING = 2
    DISCLOSING = 3
    VALIDATED = 4
    COMPLETED = 5
    ABORTED = 6
    CANCELLED = 7

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def label(self) -> str:
        """The contract's spelling, e.g. `Disclosing`."""
        return self.name.title()


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.ABORTED, TaskStatus.CANCELLED})


class AbortReason(IntEnum):
    NONE = 0
    TIMEOUT = 1
    NO_CONSENSUS = 2
    ARGS_INVALID = 3
    UPLOAD_TIMEOUT = 4
    CREATOR_CANCELLED = 5


class Fault(IntEnum):
    """Why `TaskManager` dismissed a node from a task (`NodePenalized.fault`)."""

    OUTVOTED = 0
    MISSED_COMMIT = 1
    MISSED_DISCLOSE = 2
    MISSED_UPLOAD = 3

    @property
    def missed_deadline(self) -> bool:
        return self is not Fault.OUTVOTED


class NodeStatus(IntEnum):
    NONE = 0
    AVAILABLE = 1
    BUSY = 2
    PAUSED = 3
    PENDING_PAUSE = 4
    PENDING_QUIT = 5
    QUIT = 6
    SLASHED = 7
