"""Read the submitter's journal (`chain.tx-journal`) back: the state it recovers from.

Only committed records count (`read_committed`), read from the start to the end of each
partition (end = the last stable offset, so an open transaction of a fenced predecessor is
never taken for truth). Later records of a signer replace earlier ones, as compaction would.
"""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from chain_bridge.errors import JournalMismatchError
from chain_bridge.submit_records import state_from_journal
from chain_bridge.submit_state import SignerState
from schemas.codec import Codec


def read_journal(
    bootstrap: str,
    topic: str,
    partitions: list[int],
    codec: Codec,
    group_id: str,
    timeout_s: float = 30,
) -> dict[str, tuple[int, SignerState]]:
    """The latest committed journal record of every signer in `partitions`, with its partition."""
    if not partitions:
        return {}
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    found: dict[str, tuple[int, SignerState]] = {}
    open_partitions = set(partitions)
    deadline = time.monotonic() + timeout_s
    try:
        while open_partitions:
            if time.monotonic() > deadline:
                raise JournalMismatchError(
                    f"journal partitions {sorted(open_partitions)} not read to their end in {timeout_s}s"
                )
            msg = reader.poll(0.2)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard(msg.partition())
                    continue
                raise KafkaException(error)
            _, rec = codec.decode(msg.value() or b"", expect="SignerJournal")
            state = state_from_journal(rec)
            found[state.signer] = (msg.partition() or 0, state)
    finally:
        reader.close()
    return found
