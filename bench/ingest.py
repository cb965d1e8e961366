"""Ingest throughput and head latency, against the same chain read by a bare loop.

    .venv/bin/hydrogen devnet up          # Kafka comes from the running devnet
    .venv/bin/python bench/ingest.py [--joins N] [--per-block K] [--range R] [--rounds M]

Fills a throwaway anvil (a chain id of its own) with node joins (2 logs each, K per block),
then, M rounds each, medians reported:
  - bare:  a loop of eth_getLogs over the whole chain, R blocks per call (the ceiling);
  - ours:  ingest backfilling the same blocks into Kafka from a fresh cursor (`catch_up`),
           decoding, encoding and committing a transaction per range;
and the ratio ours/bare. Then the head latency: a join mined → its event readable by a
read_committed consumer, median and p95 of 20.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer

from chain_bridge.event_decoder import EventDecoder
from chain_bridge.event_records import PROTOCOL_CONTRACTS
from chain_bridge.ingest import Cursor, Ingest, transactional_producer
from chain_bridge.ingest_settings import IngestSettings
from chain_bridge.rpc import JsonRpc
from chain_bridge.window import BlockWindow
from hydrogen.devnet.anvil import throwaway_deployment
from hydrogen.devnet.supervisor import Devnet
from schemas.catalog import CHAIN_NODE_EVENTS
from schemas.codec import Codec


@dataclass
class Bench:
    bootstrap: str
    url: str
    chain_id: int
    record: dict[str, Any]
    settings: IngestSettings
    join_data: str
    stake: int

    @property
    def registry(self) -> str:
        return str(self.record["contracts"]["NodeRegistry"]["address"])

    @property
    def addresses(self) -> list[str]:
        return sorted(self.record["contracts"][n]["address"] for n in PROTOCOL_CONTRACTS)

    def ingest(self, cursor: Cursor | None = None) -> Ingest:
        decoder = EventDecoder(
            {n: self.record["contracts"][n]["address"] for n in PROTOCOL_CONTRACTS},
            {n: self.record["contracts"][n]["abi"] for n in PROTOCOL_CONTRACTS},
        )
        fresh = Cursor(self.chain_id, self.addresses, 0, BlockWindow(self.settings.window_blocks))
        producer = transactional_producer(self.bootstrap, self.chain_id)
        return Ingest(JsonRpc(self.url), producer, decoder, Codec(), cursor or fresh, self.settings)

    def fill(self, joins: int, per_block: int) -> None:
        """`joins` node joins, `per_block` to a block, sent in JSON-RPC batches."""
        http = httpx.Client(timeout=60)
        ids = iter(range(1, 10**9))

        def batch(calls: list[tuple[str, list[Any]]]) -> None:
            body = [{"jsonrpc": "2.0", "id": next(ids), "method": m, "params": p} for m, p in calls]
            for answer in http.post(self.url, json=body).json():
                if "error" in answer:
                    raise RuntimeError(answer["error"])

        batch([("evm_setAutomine", [False])])
        for start in range(0, joins, per_block):
            nodes = [
                f"0x{uuid.uuid4().hex[:8]}{start + i:032x}"
                for i in range(min(per_block, joins - start))
            ]
            # A batch's calls may run concurrently: fund every sender before any sends.
            batch(
                [
                    c
                    for n in nodes
                    for c in (
                        ("anvil_setBalance", [n, hex(self.stake * 2)]),
                        ("anvil_impersonateAccount", [n]),
                    )
                ]
            )
            tx = {
                "to": self.registry,
                "data": self.join_data,
                "value": hex(self.stake),
                "gas": hex(400_000),
            }
            batch([("eth_sendTransaction", [{**tx, "from": n}]) for n in nodes])
            batch([("evm_mine", [])])
        batch([("evm_setAutomine", [True])])
        http.close()


def backfill(bench: Bench, rounds: int) -> tuple[int, float, float]:
    rpc = JsonRpc(bench.url)
    head = rpc.block_number()
    r = bench.settings.range_blocks
    bare_rates, ours_rates, logs = [], [], 0
    for _ in range(rounds):
        t = time.perf_counter()
        logs = sum(
            len(rpc.get_logs(bench.addresses, f, min(head, f + r - 1)))
            for f in range(0, head + 1, r)
        )
        bare_rates.append(logs / (time.perf_counter() - t))
        ingest = bench.ingest()  # a fresh cursor: the same backfill again
        t = time.perf_counter()
        ingest.catch_up()
        ours_rates.append(logs / (time.perf_counter() - t))
        ingest.close()
    return logs, statistics.median(bare_rates), statistics.median(ours_rates)


def head_latency(bench: Bench, samples: int = 20) -> list[float]:
    consumer = Consumer(
        {
            "bootstrap.servers": bench.bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "latest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.subscribe([CHAIN_NODE_EVENTS.name])
    while not consumer.assignment():
        consumer.poll(0.1)
    rpc = JsonRpc(bench.url)
    cursor = Cursor(bench.chain_id, bench.addresses, rpc.block_number() + 1, BlockWindow(64))
    ingest = bench.ingest(cursor)
    ingest.settings.poll_seconds = 0.005
    stop = threading.Event()
    worker = threading.Thread(target=ingest.run, args=(stop,), daemon=True)
    worker.start()
    out = []
    try:
        for _ in range(samples):
            bench.fill(1, 1)  # one join, in a block of its own
            mined = time.perf_counter()
            while (msg := consumer.poll(2.0)) is None or msg.error():
                pass
            out.append(time.perf_counter() - mined)
            while consumer.poll(0.05) is not None:  # the join's second log
                pass
    finally:
        stop.set()
        worker.join(5)
        consumer.close()
        ingest.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--joins", type=int, default=6_000, help="node joins (2 logs each)")
    parser.add_argument("--per-block", type=int, default=5, help="joins per block")
    parser.add_argument(
        "--range", type=int, default=500, dest="range_blocks", help="blocks per eth_getLogs"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--devnet", type=Path, default=Path(".devnet"), help="the running devnet (for Kafka)"
    )
    args = parser.parse_args()

    bootstrap = Devnet.open(args.devnet).kafka.address
    chain_id = 50_000 + uuid.uuid4().int % 1_000_000
    with throwaway_deployment(chain_id) as chain:
        w3, record, anvil = chain.w3, chain.record, chain.anvil
        c = record["contracts"]["NodeRegistry"]
        registry = w3.eth.contract(address=c["address"], abi=c["abi"])
        settings = IngestSettings(
            kafka_bootstrap=bootstrap,
            rpc_url=anvil.address,
            deployment_file=chain.deployment_file,
            range_blocks=args.range_blocks,
            start_block=0,
        )
        bench = Bench(
            bootstrap,
            anvil.address,
            chain_id,
            record,
            settings,
            registry.encode_abi("join", ["NVIDIA H100", 24, ["base:sd15"]]),
            registry.functions.minStake().call(),
        )
        t = time.perf_counter()
        bench.fill(args.joins, args.per_block)
        print(f"filled chain {chain_id}: {args.joins} joins in {time.perf_counter() - t:.1f}s")

        logs, bare, ours = backfill(bench, args.rounds)
        print(
            f"backfill of {logs} logs, {args.range_blocks} blocks per call, median of {args.rounds}"
        )
        print(f"  bare eth_getLogs loop {bare:>9,.0f} logs/s")
        print(f"  ingest into Kafka     {ours:>9,.0f} logs/s   ratio {ours / bare:.2f}")

        latencies = head_latency(bench)
        p95 = statistics.quantiles(latencies, n=20)[18]
        print(
            f"head latency, mined → readable: median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
