"""Fixes of two faust-streaming 0.15.3 bugs that lose input messages after a rebalance.

`apply()` installs them, once per process, before a faust app is built (`create_app` calls
it). The code they replace is the same in upstream faust-streaming master and mode-streaming
0.7.1; re-check both when upgrading. With two workers sharing the partitions, the worker that
kept or took over a partition would sometimes never process some of its messages (a task
never asked for its jobs or commitments) until the next rebalance, or for good.

1. A resume that clears the agents' queues (mode-streaming's `FlowControlEvent.resume`).
   Every agent channel, stream outbox and the tables' changelog queue is a
   `FlowControlQueue(clear_on_resume=True)`, and `resume()` clears them all, even when flow
   is already on. After a rebalance, recovery turns flow on to read the changelogs; then
   `Recovery.on_recovery_completed` resumes the stream partitions, awaits `perform_seek()`
   (40 to 760 ms in our tests) and only then calls `app.flow_control.resume()` again.
   Messages fetched in that window are in the agents' queues by then, and that call drops
   them while the consumer's position stays past them (seen: a whole batch of task events
   and results gone, none of it processed or committed). Fix: `resume()` clears the queues
   only when it ends a suspension (what they hold then predates the rebalance, which is what
   the clearing is for) and leaves them alone when flow was already on. Upstream:
   faust-streaming issue #596 (open) describes this race; a single offset it leaves unacked
   at the head is even committed over, as `Consumer._new_offset` skips it (issue #606).

2. A partition no one has committed is not rewound (faust's `perform_seek`). After a
   rebalance faust rewinds its partitions with aiokafka's `seek_to_committed()`, which skips
   a partition whose committed offset is missing or 0, leaving it wherever the consumer had
   read to. But faust drops fetched records during a rebalance: a partition just assigned is
   active for a moment before faust pauses it, so a fetch already waiting returns its records
   while flow is stopped, and `getmany` then discards them ("getmany called while flow not
   active. Seek back to committed offsets"). A partition with a committed offset is read
   again from there; one without (a worker died before its first commit of it, or it changed
   hands before one) was skipped for good. Fix: under `consumer_auto_offset_reset="earliest"`
   (ours) such a partition of an acked topic goes back to its beginning, and one committed
   at 0 to 0, where a fresh consumer of the group would start. Topics without acks (the
   tables' changelogs) are placed by table recovery and are left alone; under "latest" faust
   keeps its behaviour (a fresh consumer would skip to the end, losing more). We found no
   upstream report of this one.

Both fixes cost duplicates, which at-least-once allows: a message processed in the window of
(1) is delivered again after the seek, and (2) replays what was processed but not yet
committed. The agents drop a redelivered input (the domain folds by event id).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from mode.utils.queues import FlowControlEvent

_applied = False


def apply() -> None:
    """Install both fixes (idempotent)."""
    global _applied  # noqa: PLW0603 (a process-wide patch, installed once)
    if _applied:
        return
    # mypy forbids assigning to a method; replacing it is the point here.
    FlowControlEvent.resume = _resume_clearing_only_after_suspension  # type: ignore[method-assign]
    thread = AIOKafkaConsumerThread
    thread.seek_to_committed = _seek_thread_to_committed  # type: ignore[method-assign]
    _applied = True


def _resume_clearing_only_after_suspension(self: FlowControlEvent) -> None:
    """`FlowControlEvent.resume`, without dropping what the queues got while flow was on."""
    was_suspended = self._suspend.is_set()
    self._suspend.clear()
    self._resume.set()
    if was_suspended:
        self.clear()


async def _seek_thread_to_committed(self: AIOKafkaConsumerThread) -> Mapping[TopicPartition, Any]:
    """`AIOKafkaConsumerThread.seek_to_committed`, rewinding never committed partitions too."""
    consumer = self._ensure_consumer()
    if self.app.conf.consumer_auto_offset_reset != "earliest":
        offsets = await self.call_thread(consumer.seek_to_committed)
    else:
        acked = self.app.topics.acks_enabled_for
        offsets = await self.call_thread(seek_to_committed_or_beginning, consumer, acked)
    return cast(Mapping[TopicPartition, Any], offsets)


async def seek_to_committed_or_beginning(
    consumer: AIOKafkaConsumer, committable: Callable[[str], bool]
) -> dict[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset, as aiokafka's
    `seek_to_committed` does, and also those of a `committable` topic that it leaves where
    they are: committed at 0 to 0, never committed to their beginning. Return the committed
    offsets (None: never committed), as `seek_to_committed` does."""
    committed: dict[TopicPartition, int | None] = await consumer.seek_to_committed()
    assigned = consumer.assignment()  # a rebalance may have begun during the await
    mine = [tp for tp, offset in committed.items() if not offset and tp in assigned]
    mine = [tp for tp in mine if committable(tp.topic)]
    for tp in mine:
        if committed[tp] == 0:
            consumer.seek(tp, 0)
    never = [tp for tp in mine if committed[tp] is None]
    if never:
        await consumer.seek_to_beginning(*never)
    return committed
