"""The benchmark's chain events: N tasks' lifecycles on chain.task-events (bench/streams.py).

Each task goes through the life `streams/domain/transitions.py` allows, in the transactions
TaskManager emits it in, 10 tasks created per block and each task spanning 8 blocks, so tasks
interleave on the topic as they would on a busy chain:

    block +0  createTask        TaskCreated, NodeSelected x3, TaskStarted
    block +1..+3  submitCommitment  CommitmentSubmitted (+ DisclosureOpened at the third)
    block +4..+6  disclose          ResultDisclosed (+ TaskValidated at the third)
    block +7  confirmUpload     TaskCompleted

14 events a task. A task's 3 nodes are drawn (seeded) from a pool of 30; deadlines are a day
after their block, so the deadline keeper never fires during a run.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Producer
from eth_utils import to_checksum_address

from schemas.catalog import CHAIN_TASK_EVENTS, PARTITIONER
from schemas.codec import Codec

POOL = [to_checksum_address(f"0x{0xB0DE0000 + i:040x}") for i in range(30)]
TASK_MANAGER = to_checksum_address(f"0x{0x7A5C:040x}")
TASKS_PER_BLOCK = 10
BLOCK_MS = 2_000
DAY_S = 24 * 60 * 60
EVENTS_PER_TASK = 14
SD_RESULT = bytes.fromhex("0123456789abcdef")  # an 8-byte p-hash: a well-formed SD result


@dataclass
class Stream:
    """N tasks' chain events, generated lazily in chain order (block, log index)."""

    tasks: int
    chain_id: int
    seed: int = 7
    selected: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.selected = [tuple(rng.sample(POOL, 3)) for _ in range(self.tasks)]  # type: ignore[misc]
        self.blocks = (self.tasks - 1) // TASKS_PER_BLOCK + 8  # a task spans 8 blocks
        self.start_ms = (time.time_ns() // 1_000_000) - self.blocks * BLOCK_MS

    @property
    def events(self) -> int:
        return self.tasks * EVENTS_PER_TASK

    def jobs(self, ours: frozenset[str]) -> int:
        return sum(len(ours.intersection(nodes)) for nodes in self.selected)

    def task_id(self, i: int) -> str:
        return str(1_000_000 + i)

    def __iter__(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(task id, record name, record), in chain order."""
        for block in range(self.blocks):
            log_index = 0
            # Older tasks' later steps first: any order within a block would do.
            for step in range(7, -1, -1):
                first = (block - step) * TASKS_PER_BLOCK
                for i in range(max(first, 0), min(first + TASKS_PER_BLOCK, self.tasks)):
                    for name, body in self._step(i, step, block):
                        yield (
                            self.task_id(i),
                            name,
                            self._envelope(block, i, log_index) | body,
                        )
                        log_index += 1

    def _envelope(self, block: int, i: int, log_index: int) -> dict[str, Any]:
        tx = f"0x{block:032x}{i:032x}"
        return {
            "event_id": f"{self.chain_id}:{tx}:{log_index}",
            "chain_id": self.chain_id,
            "contract": TASK_MANAGER,
            "block_number": block + 1,
            "block_hash": f"0x{self.chain_id:032x}{block:032x}",
            "block_time": self.start_ms + block * BLOCK_MS,
            "tx_hash": tx,
            "log_index": log_index,
        }

    def _step(self, i: int, step: int, block: int) -> list[tuple[str, dict[str, Any]]]:
        """The events of the transaction that takes task `i` through `step` (0..7)."""
        task_id, nodes = self.task_id(i), self.selected[i]
        deadline = (self.start_ms + block * BLOCK_MS) // 1000 + DAY_S  # never passes in a run
        if step == 0:  # createTask, with selection
            created = {
                "task_id": task_id,
                "creator": TASK_MANAGER,
                "task_type": 0,
                "args_hash": i.to_bytes(32, "big"),
                "model_ids": ["base:sd15"],
                "min_vram": 16,
                "vram_tier": 1,
                "fee": str(10**18),
                "timeouts": {
                    "queue": DAY_S,
                    "commit": DAY_S,
                    "disclose": DAY_S,
                    "upload": DAY_S,
                },
            }
            selected = [("NodeSelected", {"task_id": task_id, "node": n, "slot": s}) for s, n in enumerate(nodes)]  # fmt: skip
            started = {
                "task_id": task_id,
                "nodes": list(nodes),
                "commit_deadline": deadline,
                "seed": str(i),
            }
            return [("TaskCreated", created), *selected, ("TaskStarted", started)]
        if step <= 3:  # submitCommitment; the third opens disclosure
            node = nodes[step - 1]
            commit = {
                "task_id": task_id,
                "node": node,
                "commitment": secrets.token_bytes(32),
                "commit_order": step,
            }
            out = [("CommitmentSubmitted", commit)]
            if step == 3:
                opened = {
                    "task_id": task_id,
                    "nodes": list(nodes),
                    "disclose_deadline": deadline,
                }
                out.append(("DisclosureOpened", opened))
            return out
        if step <= 6:  # disclose; the third settles
            node = nodes[step - 4]
            disclosed = {
                "task_id": task_id,
                "node": node,
                "result": SD_RESULT,
                "error_code": 0,
            }
            out = [("ResultDisclosed", disclosed)]
            if step == 6:
                validated = {
                    "task_id": task_id,
                    "result_node": nodes[0],
                    "result": SD_RESULT,
                    "agreeing_nodes": list(nodes),
                    "upload_deadline": deadline,
                }
                out.append(("TaskValidated", validated))
            return out
        completed = {
            "task_id": task_id,
            "result_node": nodes[0],
            "nodes": list(nodes),
            "payouts": [str(10**17)] * 3,
        }
        return [("TaskCompleted", completed)]


def produce(bootstrap: str, stream: Stream) -> float:
    """Send the whole stream to chain.task-events; return events/s."""
    codec = Codec()
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": PARTITIONER,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "acks": "all",
            "enable.idempotence": True,
            "log_level": 3,  # not the warning of a coordinator still loading at the start
        }
    )
    started, report = time.perf_counter(), max(stream.events // 10, 1)
    for n, (task_id, name, record) in enumerate(stream, 1):
        value = codec.encode(name, record)
        while True:
            try:
                producer.produce(CHAIN_TASK_EVENTS.name, key=task_id.encode(), value=value)
                break
            except BufferError:
                producer.poll(0.1)
        if n % report == 0:
            producer.poll(0)
            print(f"  produced {n:>9,} / {stream.events:,}", flush=True)
    if left := producer.flush(60):
        raise RuntimeError(f"{left} events not delivered")
    return stream.events / (time.perf_counter() - started)
