"""Contract logs → Kafka, exactly once and in chain order.

Each step reads a range of blocks (`eth_getLogs` over the protocol contracts), checks that the
range links onto the blocks already published (chain_bridge.window), decodes the logs into
their records and publishes them, keyed by task id, node or contract. The events and the
cursor (next block, the window of recent blocks and what each published) go out in ONE Kafka
transaction: after a crash at any moment, the cursor that read_committed readers see is the
one that matches the events they see, and ingest resumes right after it.

A reorg inside the window rewinds to the fork point: every event published above it gets a
`LogRetracted` on its topic and key, and the new branch is read. With `confirmations` deeper
than any reorg nothing is ever retracted. A fork below the window stops ingest with
ReorgTooDeepError rather than leave wrong events standing.

Blocks far below the head (deeper than the window) are only checked where they join the
window: a range that ends more than `window_blocks` below the safe head keeps only its last
block, and a range nearer the head keeps its last `window_blocks` blocks header by header.

A backfill (`catch_up`, and `run` behind the head) overlaps three things: the next range is
read on one thread, the current one decoded and produced on the caller's, and the previous
range's transaction committed on a third. Transactions still commit strictly one after the
other, so the committed cursor and events never run ahead of each other.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from chain_bridge.errors import ChainBridgeError
from chain_bridge.event_decoder import EventDecoder, LogDecodeError
from chain_bridge.event_records import PROTOCOL_CONTRACTS, route
from chain_bridge.ingest_settings import IngestSettings
from chain_bridge.rpc import Header, JsonRpc
from chain_bridge.stall_guard import stall_guard
from chain_bridge.window import BlockRef, BlockWindow, Extends
from schemas.catalog import CHAIN_CONTRACT_EVENTS, CHAIN_INGEST_CURSOR, PARTITIONER
from schemas.codec import Codec
from schemas.dead_letter import dead_letter_record
from schemas.errors import EncodeError

log = logging.getLogger(__name__)

RETRIES_WHEN_THE_CHAIN_MOVES = 5


@dataclass(frozen=True)
class PublishedEvent:
    event_id: str
    record: str
    topic: str
    key: str


@dataclass
class Cursor:
    chain_id: int
    contracts: list[str]
    next_block: int
    window: BlockWindow
    published: dict[int, list[PublishedEvent]] = field(default_factory=dict)

    def to_record(self, now_ms: int) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "contracts": self.contracts,
            "next_block": self.next_block,
            "window": [
                {
                    "number": b.number,
                    "hash": b.hash,
                    "parent_hash": b.parent_hash,
                    "events": [e.__dict__ for e in self.published.get(b.number, [])],
                }
                for b in self.window.blocks
            ],
            "window_complete": self.window.complete,
            "updated_at": now_ms,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], window_blocks: int) -> Cursor:
        blocks = tuple(BlockRef(b["number"], b["hash"], b["parent_hash"]) for b in rec["window"])
        return cls(
            chain_id=rec["chain_id"],
            contracts=list(rec["contracts"]),
            next_block=rec["next_block"],
            window=BlockWindow(window_blocks, blocks[-window_blocks:], rec["window_complete"]),
            published={
                b["number"]: [PublishedEvent(**e) for e in b["events"]] for b in rec["window"]
            },
        )


# What reading a range gives: the first block kept in the window, the logs, the headers.
Fetched = tuple[int, list[dict[str, Any]], dict[int, Header]]


class Outgoing(NamedTuple):  # a tuple: one is made per log, in the hot loop
    topic: str
    key: str
    value: bytes


class ChainMovedError(ChainBridgeError):
    """The chain changed between two calls of one step; the step is retried."""


class Ingest:
    def __init__(
        self,
        rpc: JsonRpc,
        producer: Producer,
        decoder: EventDecoder,
        codec: Codec,
        cursor: Cursor,
        settings: IngestSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rpc = rpc
        self.producer = producer
        self.decoder = decoder
        self.codec = codec
        self.cursor = cursor
        self.settings = settings
        self.clock = clock
        # The next range is read on a thread of its own, with a connection of its own. What
        # it read is checked like any other read: a stale prefetch fails the link checks.
        self._prefetch_rpc = JsonRpc(rpc.url)
        self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-prefetch")
        self._prefetch: tuple[int, int, int, Future[Fetched]] | None = None
        # The transaction of the last range, committing while the next range is prepared;
        # `_committed` is the cursor Kafka holds for certain, restored if that commit fails.
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-commit")
        self._in_flight: tuple[Future[None], Cursor] | None = None
        self._committed = cursor

    def close(self) -> None:
        try:
            self._settle()
        finally:
            self._committer.shutdown(wait=True)
            self._prefetcher.shutdown(wait=True, cancel_futures=True)
            self._prefetch_rpc.close()
            self.rpc.close()
            self.producer.flush(10)

    # ---- the loop ----

    def run(self, stop: threading.Event) -> None:
        log.info(
            "ingest chain_id=%s from block=%s confirmations=%s",
            self.cursor.chain_id,
            self.cursor.next_block,
            self.settings.confirmations,
        )
        while not stop.is_set():
            if self.catch_up(stop) == 0 and self.caught_up():
                stop.wait(self.settings.poll_seconds)

    def caught_up(self) -> bool:
        return self.cursor.next_block > self.rpc.block_number() - self.settings.confirmations

    def step(self) -> int:
        """Publish the next range of blocks, committed when this returns; return how many
        blocks it covered (0 at the head)."""
        return self._retrying(pipelined=False)

    def catch_up(self, stop: threading.Event | None = None) -> int:
        """Publish every range up to the safe head (or until `stop`), each range's commit
        overlapping the next range's work; everything is committed when this returns.
        Return how many blocks it covered."""
        covered = 0
        try:
            while stop is None or not stop.is_set():
                blocks = self._retrying(pipelined=True)
                if blocks == 0:
                    break
                covered += blocks
        finally:
            self._settle()
        return covered

    def _retrying(self, pipelined: bool) -> int:
        for attempt in range(RETRIES_WHEN_THE_CHAIN_MOVES):
            try:
                return self._step(pipelined)
            except ChainMovedError as exc:
                log.info("chain moved during a step (attempt %d): %s", attempt + 1, exc)
                time.sleep(0.05 * (attempt + 1))
        raise ChainBridgeError(
            f"the chain kept changing under ingest at block {self.cursor.next_block}"
        )

    def _step(self, pipelined: bool) -> int:
        s = self.settings
        first = self.cursor.next_block
        safe = self.rpc.block_number() - s.confirmations
        if first > safe:
            return 0
        last = min(safe, first + s.range_blocks - 1)
        tail_start, logs, headers = self._fetched(first, last, self._tail_start(first, last, safe))
        # While this range is decoded and published, the next one is read.
        if last < safe:
            after = last + 1
            until = min(safe, after + s.range_blocks - 1)
            tail = self._tail_start(after, until, safe)
            future = self._prefetcher.submit(self._fetch, after, until, tail)
            self._prefetch = (after, until, tail, future)

        window = self.cursor.window
        if window.last is not None:
            step = window.offer(headers[first].ref)
            if not isinstance(step, Extends):
                self._rewind()
                return 1
        if tail_start > first:
            # The blocks between are deeper than any reorg we handle; the window restarts at
            # the tail and can no longer rewind below it.
            window = BlockWindow(s.window_blocks, (), complete=False)
        for n in range(tail_start, last + 1):
            step = window.offer(headers[n].ref)
            if not isinstance(step, Extends):
                raise ChainMovedError(f"block {n} no longer links to block {n - 1}")
            window = step.window
        for x in logs:
            n = int(x["blockNumber"], 16)
            header = headers.get(n)
            if header is not None and x["blockHash"] != header.ref.hash:
                raise ChainMovedError(f"log of block {n} is from block hash {x['blockHash']}")

        out, published = self._records(logs, headers, kept_from=window.blocks[0].number)
        kept = {b.number for b in window.blocks}
        merged = {n: e for n, e in self.cursor.published.items() if n in kept}
        merged.update({n: e for n, e in published.items() if n in kept})
        cursor = Cursor(self.cursor.chain_id, self.cursor.contracts, last + 1, window, merged)
        self._commit(out, cursor, wait=not pipelined)
        if out:
            log.info("published events=%d blocks=%d..%d", len(out), first, last)
        return last - first + 1

    # ---- reading the chain ----

    def _tail_start(self, first: int, last: int, safe: int) -> int:
        """The first block of the range kept in the window: the last `window_blocks` of it,
        or only its last block when all of it is deeper than the window below the safe head
        (a reorg there is beyond what ingest undoes; the last block links the next range)."""
        window = self.settings.window_blocks
        if last + window <= safe:
            return last
        return max(first, last - window + 1)

    def _fetch(self, first: int, last: int, tail_start: int) -> Fetched:
        """The logs of blocks first..last and the headers a step needs: the first block (to
        link it), the window's tail, and each block with a log that lacks `blockTimestamp`.

        Nodes that put the block's time on each log (anvil, geth since 1.16) spare a header
        per block with logs, which was most of a backfill's reading. The logs of blocks
        between the first and the tail are then not matched against a header: those blocks
        are deeper than the window, where ingest never handles a reorg anyway.
        """
        rpc = self._prefetch_rpc
        logs = rpc.get_logs(self.cursor.contracts, first, last)
        untimed = (int(x["blockNumber"], 16) for x in logs if "blockTimestamp" not in x)
        wanted = {first, *range(tail_start, last + 1), *untimed}
        return tail_start, logs, rpc.headers(sorted(wanted))

    def _fetched(self, first: int, last: int, tail_start: int) -> Fetched:
        """What `_fetch` gives, from the prefetch when it read this range with at least the
        headers needed now (a longer tail than needed does no harm)."""
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None and prefetch[:2] == (first, last) and prefetch[2] <= tail_start:
            return prefetch[3].result()
        if prefetch is not None:
            prefetch[3].cancel()
        return self._fetch(first, last, tail_start)

    # ---- records ----

    def _records(
        self, logs: Sequence[Mapping[str, Any]], headers: Mapping[int, Header], kept_from: int
    ) -> tuple[list[Outgoing], dict[int, list[PublishedEvent]]]:
        """The messages of `logs`, and what was published in each block from `kept_from` on
        (the blocks the window keeps, whose events a reorg would retract)."""
        out: list[Outgoing] = []
        published: dict[int, list[PublishedEvent]] = {}
        for x in logs:
            n = int(x["blockNumber"], 16)
            log_index = int(x["logIndex"], 16)
            stamp = x.get("blockTimestamp")
            block_time = int(stamp, 16) if stamp is not None else headers[n].timestamp
            envelope = {
                "event_id": f"{self.cursor.chain_id}:{x['transactionHash']}:{log_index}",
                "chain_id": self.cursor.chain_id,
                "contract": x["address"],
                "block_number": n,
                "block_hash": x["blockHash"],
                "block_time": block_time * 1000,
                "tx_hash": x["transactionHash"],
                "log_index": log_index,
            }
            try:
                decoded = self.decoder.decode(x)
                topic, key = route(decoded.spec, x["address"], decoded.args)
                record = {**envelope, **decoded.spec.to_fields(decoded.args)}
                value = self.codec.encode(decoded.spec.record, record)
            except (LogDecodeError, EncodeError, ValueError) as exc:
                out.append(self._dead_letter(x, envelope, exc))
                continue
            out.append(Outgoing(topic.name, key, value))
            if n >= kept_from:
                published.setdefault(n, []).append(
                    PublishedEvent(envelope["event_id"], decoded.spec.record, topic.name, key)
                )
        return out, published

    def _dead_letter(
        self, raw: Mapping[str, Any], envelope: Mapping[str, Any], exc: Exception
    ) -> Outgoing:
        log.warning("undecodable log event_id=%s: %s", envelope["event_id"], exc)
        contract = str(envelope["contract"])
        # Logs have no topic offset: the chain position stands in for it.
        record = dead_letter_record(
            topic=f"chain:{self.cursor.chain_id}",
            partition=int(envelope["log_index"]),
            offset=int(envelope["block_number"]),
            key=contract.encode(),
            value=json.dumps(dict(raw), sort_keys=True).encode(),
            consumer="chain_bridge.ingest",
            error_type=type(exc).__name__,
            reason=str(exc),
            now_ms=int(self.clock() * 1000),
        )
        value = self.codec.encode("DeadLetter", record)
        return Outgoing(CHAIN_CONTRACT_EVENTS.dlq.name, contract, value)

    # ---- reorgs ----

    def _rewind(self) -> None:
        window = self.cursor.window
        numbers = window.numbers_to_check()
        blocks = self.rpc.batch(("eth_getBlockByNumber", [hex(n), False]) for n in numbers)
        canonical = {n: b["hash"] for n, b in zip(numbers, blocks, strict=True) if b is not None}
        rewound = window.rewind(canonical)  # a fork below the window raises here
        fork = rewound.fork_point
        next_block = fork.number + 1 if fork else rewound.dropped[0].number
        now_ms = int(self.clock() * 1000)
        out = [
            Outgoing(
                e.topic,
                e.key,
                self.codec.encode(
                    "LogRetracted",
                    {
                        "event_id": e.event_id,
                        "record": e.record,
                        "chain_id": self.cursor.chain_id,
                        "block_number": b.number,
                        "block_hash": b.hash,
                        "fork_block_number": fork.number if fork else next_block - 1,
                        "detected_at": now_ms,
                    },
                ),
            )
            for b in reversed(rewound.dropped)
            for e in reversed(self.cursor.published.get(b.number, []))
        ]
        kept = {b.number for b in rewound.window.blocks}
        cursor = Cursor(
            self.cursor.chain_id,
            self.cursor.contracts,
            next_block,
            rewound.window,
            {n: e for n, e in self.cursor.published.items() if n in kept},
        )
        self._commit(out, cursor, wait=True)
        log.warning(
            "reorg: rewound to block=%s, retracted events=%d from blocks %s",
            next_block - 1,
            len(out),
            [b.number for b in rewound.dropped],
        )

    # ---- Kafka ----

    def _commit(self, out: Sequence[Outgoing], cursor: Cursor, wait: bool) -> None:
        """Produce `out` and `cursor` in one transaction. With `wait`, return once it is
        committed; else commit it on the committer thread and let the caller go on from
        `cursor` (the next `_commit` or `_settle` waits for it and raises its failure)."""
        cursor_value = self.codec.encode("IngestCursor", cursor.to_record(int(self.clock() * 1000)))
        self._settle()  # transactions of one producer commit one after the other
        self.producer.begin_transaction()
        try:
            for o in out:
                self._produce(o.topic, o.key, o.value)
            self._produce(CHAIN_INGEST_CURSOR.name, str(cursor.chain_id), cursor_value)
        except KafkaException:
            self.producer.abort_transaction(60)
            raise
        if wait:
            self._commit_transaction()
            self.cursor = self._committed = cursor
            return
        self.cursor = cursor
        self._in_flight = (self._committer.submit(self._commit_transaction), cursor)

    def _commit_transaction(self) -> None:
        try:
            with stall_guard("ingest: committing a range's transaction", 180):
                self.producer.commit_transaction(60)
        except KafkaException:
            self.producer.abort_transaction(60)
            raise

    def _settle(self) -> None:
        """Wait for the transaction in flight; if it failed, fall back to the cursor Kafka
        holds and raise, so nothing is built on events that were never committed."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is None:
            return
        committing, cursor = in_flight
        try:
            committing.result()
        except BaseException:
            self.cursor = self._committed
            self._prefetch = None
            raise
        self._committed = cursor

    def _produce(self, topic: str, key: str, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(topic, key=key.encode(), value=value)
                return
            except BufferError:
                self.producer.poll(0.1)  # the local queue is full: let it drain


def transactional_producer(bootstrap: str, chain_id: int) -> Producer:
    """One transactional id per chain: a restarted ingest fences its dead predecessor."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"hydrogen-ingest-{chain_id}",
            "partitioner": PARTITIONER,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
        }
    )
    producer.init_transactions(60)
    return producer


def read_cursor(bootstrap: str, chain_id: int, window_blocks: int) -> Cursor | None:
    """The last committed cursor of `chain_id`, or None for a fresh start."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"hydrogen-ingest-cursor-{chain_id}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    codec = Codec()
    latest = None
    try:
        tp = TopicPartition(CHAIN_INGEST_CURSOR.name, 0)
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=30)
        except KafkaException as exc:
            raise ChainBridgeError(
                f"cannot read {CHAIN_INGEST_CURSOR.name} on {bootstrap}: {exc.args[0].str()}; "
                "create the catalog's topics with `hydrogen topics create`"
            ) from exc
        consumer.assign([TopicPartition(CHAIN_INGEST_CURSOR.name, 0, low)])
        deadline = time.monotonic() + 60
        # Before the first fetch the position is a negative sentinel: count it as `low`.
        while max(consumer.position([tp])[0].offset, low) < high:
            if time.monotonic() > deadline:
                raise ChainBridgeError(f"reading {CHAIN_INGEST_CURSOR.name} up to {high} timed out")
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.key() == str(chain_id).encode():
                latest = msg.value()
    finally:
        consumer.close()
    if latest is None:
        return None
    _, record = codec.decode(latest, expect="IngestCursor")
    return Cursor.from_record(record, window_blocks)


def open_ingest(settings: IngestSettings) -> Ingest:
    """Wire an ingest from settings: the deployment, the chain, Kafka, the saved cursor."""
    deployment = json.loads(settings.deployment_file.read_text())
    contracts = deployment["contracts"]
    addresses = {name: contracts[name]["address"] for name in PROTOCOL_CONTRACTS}
    abis = {name: contracts[name]["abi"] for name in PROTOCOL_CONTRACTS}
    rpc = JsonRpc(settings.rpc_url)
    chain_id = rpc.chain_id()
    if chain_id != deployment["chainId"]:
        raise ChainBridgeError(
            f"{settings.rpc_url} is chain {chain_id}, the deployment is on chain {deployment['chainId']}"
        )
    # Fence a predecessor before reading the cursor, so its open transaction (if any) is
    # aborted and the cursor read is final.
    producer = transactional_producer(settings.kafka_bootstrap, chain_id)
    cursor = read_cursor(settings.kafka_bootstrap, chain_id, settings.window_blocks)
    watched = sorted(addresses.values())
    if cursor is None:
        start = settings.start_block
        if start is None:
            start = min(contracts[name]["blockNumber"] for name in PROTOCOL_CONTRACTS)
        cursor = Cursor(chain_id, watched, start, BlockWindow(settings.window_blocks))
    elif sorted(cursor.contracts) != watched:
        raise ChainBridgeError(
            f"the saved cursor ingests {cursor.contracts}, the deployment has {watched}: "
            "a new deployment needs fresh topics (hydrogen devnet reset)"
        )
    return Ingest(rpc, producer, EventDecoder(addresses, abis), Codec(), cursor, settings)
