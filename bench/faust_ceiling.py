"""faust's own ceiling: agents that only decode chain.task-events, for bench/streams.py.

    .venv/bin/python bench/faust_ceiling.py --bootstrap HOST:PORT --events N --data-dir DIR
                                            [--agents A] [--take K]

A faust worker configured like the streams app (raw values, memory store, no declared topics)
with A agents on chain.task-events that decode each value with our codec and do nothing else,
one event at a time (`stream.events()`) or in batches of K (`stream.take_events(K)`). When every
agent has seen N events it prints one line, `done <events> <wall s> <cpu s>`, counted from the
first event, and keeps running until it is stopped (SIGTERM).
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

import faust
from faust.worker import Worker

from schemas.catalog import CHAIN_TASK_EVENTS, TASK_PARTITIONS
from schemas.codec import Codec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--take", type=int, default=0, help="batch size; 0: one at a time")
    parser.add_argument("--data-dir", required=True, help="faust's data directory")
    parser.add_argument("--web-port", type=int, default=0)
    args = parser.parse_args()

    app = faust.App(
        f"bench-faust-ceiling-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        datadir=args.data_dir,
        key_serializer="raw",
        value_serializer="raw",
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=TASK_PARTITIONS,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        stream_wait_empty=False,
        web_enabled=bool(args.web_port),
        web_port=args.web_port or 6066,
    )
    topic = app.topic(
        CHAIN_TASK_EVENTS.name,
        partitions=TASK_PARTITIONS,
        key_serializer="raw",
        value_serializer="raw",
    )
    codec = Codec()
    seen = [0] * args.agents
    clock: dict[str, float] = {}

    def count(agent: int, n: int) -> None:
        if not clock:
            clock.update(wall=time.perf_counter(), cpu=time.process_time())
        seen[agent] += n
        if min(seen) >= args.events and "done" not in clock:
            clock["done"] = 1
            wall = time.perf_counter() - clock["wall"]
            cpu = time.process_time() - clock["cpu"]
            print(f"done {args.events} {wall:.3f} {cpu:.3f}", flush=True)

    def define(agent: int) -> None:
        async def decode_only(stream: Any) -> None:
            if args.take:
                async for batch in stream.take_events(args.take, within=0.05):
                    for event in batch:
                        codec.decode(bytes(event.value))
                    count(agent, len(batch))
            else:
                async for event in stream.events():
                    codec.decode(bytes(event.value))
                    count(agent, 1)

        app.agent(topic, name=f"decode_only_{agent}")(decode_only)

    for agent in range(args.agents):
        define(agent)
    Worker(app, loglevel="info", redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
