"""TRANSITIONS: every (task status, event kind) pair the chain can produce, and where it leads.

This is `TaskManager`'s lifecycle seen from its events, in the order one transaction emits
them:

    createTask        TaskCreated, then TaskQueued                   NONE -> QUEUED
                      or NodeSelected x3, TaskStarted                NONE -> RUNNING
    dispatch          NodeSelected x3, TaskStarted                   QUEUED -> RUNNING
    cancelTask        TaskCancelled                                  QUEUED -> CANCELLED
    submitCommitment  CommitmentSubmitted (+ DisclosureOpened at 3)  RUNNING -> DISCLOSING
    disclose          ResultDisclosed (+ settle: NodePenalized(Outvoted)*, then TaskValidated
                      or TaskAborted(NoConsensus / ArgsInvalid / Timeout))
    confirmUpload     TaskCompleted                                  VALIDATED -> COMPLETED
    expire            TaskExpired(phase), then per phase:
                        QUEUED      TaskAborted(Timeout)
                        RUNNING     NodePenalized(MissedCommit)*, DisclosureOpened or TaskAborted
                        DISCLOSING  NodePenalized(MissedDisclose)*, then settle as above
                        VALIDATED   NodePenalized(MissedUpload), DeliveryReassigned (stays
                                    VALIDATED) or TaskAborted(UploadTimeout)

NONE is the read model's status between TaskCreated and the TaskQueued / TaskStarted of the
same transaction (the contract never shows it). COMPLETED, ABORTED and CANCELLED are terminal:
no pair starts from them, so they absorb.

A pair that is not here is rejected (`TransitionRejected`), never ignored: the contract cannot
emit it, so it means a gap in our feed or a bug in this model, and hiding it would let the read
model drift from the chain unseen. Redelivered and out-of-date events are a different matter;
`task.evolve` drops those before it looks here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from streams.domain.errors import TransitionRejected
from streams.domain.events import (
    CommitmentSubmitted,
    DeliveryReassigned,
    DisclosureOpened,
    NodePenalized,
    NodeSelected,
    ResultDisclosed,
    TaskAborted,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskEvent,
    TaskExpired,
    TaskQueued,
    TaskStarted,
    TaskValidated,
)
from streams.domain.protocol import TaskStatus

NONE = TaskStatus.NONE
QUEUED = TaskStatus.QUEUED
RUNNING = TaskStatus.RUNNING
DISCLOSING = TaskStatus.DISCLOSING
VALIDATED = TaskStatus.VALIDATED
COMPLETED = TaskStatus.COMPLETED
ABORTED = TaskStatus.ABORTED
CANCELLED = TaskStatus.CANCELLED

TASK_EVENT_KINDS: tuple[type[TaskEvent], ...] = (
    TaskCreated,
    TaskQueued,
    NodeSelected,
    TaskStarted,
    CommitmentSubmitted,
    DisclosureOpened,
    ResultDisclosed,
    TaskValidated,
    DeliveryReassigned,
    NodePenalized,
    TaskCompleted,
    TaskAborted,
    TaskCancelled,
    TaskExpired,
)

TRANSITIONS: Mapping[tuple[TaskStatus, type[TaskEvent]], TaskStatus] = MappingProxyType(
    {
        (NONE, TaskCreated): NONE,
        (NONE, TaskQueued): QUEUED,
        (NONE, NodeSelected): NONE,
        (NONE, TaskStarted): RUNNING,
        (QUEUED, NodeSelected): QUEUED,
        (QUEUED, TaskStarted): RUNNING,
        (QUEUED, TaskCancelled): CANCELLED,
        (QUEUED, TaskExpired): QUEUED,
        (QUEUED, TaskAborted): ABORTED,
        (RUNNING, CommitmentSubmitted): RUNNING,
        (RUNNING, TaskExpired): RUNNING,
        (RUNNING, NodePenalized): RUNNING,
        (RUNNING, DisclosureOpened): DISCLOSING,
        (RUNNING, TaskAborted): ABORTED,
        (DISCLOSING, ResultDisclosed): DISCLOSING,
        (DISCLOSING, TaskExpired): DISCLOSING,
        (DISCLOSING, NodePenalized): DISCLOSING,
        (DISCLOSING, TaskValidated): VALIDATED,
        (DISCLOSING, TaskAborted): ABORTED,
        (VALIDATED, TaskExpired): VALIDATED,
        (VALIDATED, NodePenalized): VALIDATED,
        (VALIDATED, DeliveryReassigned): VALIDATED,
        (VALIDATED, TaskAborted): ABORTED,
        (VALIDATED, TaskCompleted): COMPLETED,
    }
)


def next_status(task_id: str, status: TaskStatus, kind: type[TaskEvent]) -> TaskStatus:
    """Where `kind` takes a task in `status`; TransitionRejected when the chain cannot emit it."""
    try:
        return TRANSITIONS[(status, kind)]
    except KeyError:
        allowed = sorted(k.__name__ for (s, k) in TRANSITIONS if s is status)
        raise TransitionRejected(
            f"task {task_id}: {kind.__name__} cannot happen in status {status.label}"
            f" (allowed there: {', '.join(allowed) or 'nothing, the status is terminal'})"
        ) from None
