"""One request through the submitter, with a channel that records what was asked of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from hydrogen.node_ops.outcome import Outcome
from hydrogen.node_ops.send import ANSWER_GRACE_S, send_and_wait
from hydrogen.node_ops.tx_channel import TxChannel

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
RECORD = {"request_id": "cli:1:n:pause:1", "signer": NODE}


class Channel:
    """The TxChannel surface send_and_wait uses, answering from a script."""

    def __init__(self, earlier: Outcome | None = None, later: Outcome | None = None) -> None:
        self.earlier, self.later = earlier, later
        self.calls: list[tuple[str, Any]] = []

    def open(self, from_beginning: bool) -> None:
        self.calls.append(("open", from_beginning))

    def answered(self, request_id: str) -> Outcome | None:
        self.calls.append(("answered", request_id))
        return self.earlier

    def publish(self, record: dict[str, Any]) -> tuple[int, int]:
        self.calls.append(("publish", record["request_id"]))
        return 2, 17

    def wait(self, request_id: str, deadline: float, on_wait: Callable[[], None]) -> Outcome | None:
        self.calls.append(("wait", deadline))
        on_wait()
        return self.later


def send(channel: Channel, repeat: bool, said: list[str]) -> Any:
    return send_and_wait(
        cast(TxChannel, channel),
        RECORD,
        repeat=repeat,
        timeout_s=60,
        say=said.append,
        clock=lambda: 1000.0,
    )


def test_a_new_request_listens_from_the_end_then_publishes_and_waits() -> None:
    mined = Outcome("cli:1:n:pause:1", NODE, "MINED")
    channel, said = Channel(later=mined), list[str]()
    sent = send(channel, repeat=False, said=said)
    assert channel.calls == [
        ("open", False),
        ("publish", "cli:1:n:pause:1"),
        ("wait", 1000.0 + 60 + ANSWER_GRACE_S),
    ]
    assert (sent.outcome, sent.published) == (mined, True)
    assert said[0] == (
        "published (partition 2, offset 17); it expires unsent if not sent within 60s; "
        "waiting up to 70s for its outcome"
    )
    assert said[1] == "  ... 0s, no outcome yet"


def test_a_repeated_request_already_answered_is_not_published_again() -> None:
    reverted = Outcome("cli:1:n:pause:1", NODE, "REVERTED", error_name="InvalidNodeStatus")
    channel, said = Channel(earlier=reverted), list[str]()
    sent = send(channel, repeat=True, said=said)
    assert channel.calls == [("open", True), ("answered", "cli:1:n:pause:1")]
    assert (sent.outcome, sent.published) == (reverted, False)
    assert "answered before; not publishing it again" in said[0]


def test_a_repeated_request_without_an_answer_is_published_and_awaited() -> None:
    channel = Channel(earlier=None, later=None)
    sent = send(channel, repeat=True, said=[])
    assert [name for name, _ in channel.calls] == ["open", "answered", "publish", "wait"]
    assert sent.outcome is None
