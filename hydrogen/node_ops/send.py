"""One request through the submitter: publish it, then wait for its outcome.

A request id given again (`--request-id`, to retry an intent whose answer was not seen) is
first looked up among the outcomes already published: if it was answered, that answer is
the result and nothing is published. Otherwise it is published again; the submitter drops a
request id it is already working on, so the retry never becomes a second transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hydrogen.node_ops.outcome import Outcome
from hydrogen.node_ops.tx_channel import TxChannel

# How long past the request's deadline to keep listening: a request the submitter took just
# before it still needs a block and a Kafka transaction to be answered.
ANSWER_GRACE_S = 10.0


@dataclass(frozen=True)
class Sent:
    request_id: str
    outcome: Outcome | None  # None: no answer in time
    published: bool  # False: an earlier answer to the same id was found
    waited_s: float


def send_and_wait(
    channel: TxChannel,
    record: dict[str, Any],
    *,
    repeat: bool,
    timeout_s: float,
    say: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
) -> Sent:
    """`record` is a TxRequest whose `not_after` is `timeout_s` from now; `repeat` says its
    id was given by the operator, so an answer may exist already."""
    request_id = record["request_id"]
    started = clock()
    channel.open(from_beginning=repeat)
    if repeat:
        earlier = channel.answered(request_id)
        if earlier is not None:
            say(f"request {request_id} was answered before; not publishing it again")
            return Sent(request_id, earlier, False, clock() - started)
    partition, offset = channel.publish(record)
    say(
        f"published (partition {partition}, offset {offset}); it expires unsent if not sent "
        f"within {timeout_s:.0f}s; waiting up to {timeout_s + ANSWER_GRACE_S:.0f}s for its outcome"
    )

    def tick() -> None:
        say(f"  ... {clock() - started:.0f}s, no outcome yet")

    outcome = channel.wait(request_id, started + timeout_s + ANSWER_GRACE_S, tick)
    return Sent(request_id, outcome, True, clock() - started)
