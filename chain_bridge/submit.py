"""chain_bridge.submit: `chain.tx-requests` -> signed transactions -> `chain.tx-outcomes`.

A request id is sent at most once, and every request gets exactly one outcome, even when the
process is killed (`kill -9`) at any instruction. How:

Journal. `chain.tx-journal` (compacted, keyed by signer, partition p beside partition p of
the requests) holds one `SignerJournal` record per signer: its next nonce, every signed
transaction without an outcome (request id, nonce, each signed attempt's raw bytes and hash),
and the ids answered lately. Compaction keeps exactly the latest record, which is the whole
state of that signer.

One loop step, one Kafka transaction. Each step consumes a batch of requests and looks at
the in-flight transactions, decides everything in memory, then commits, in ONE transaction
of a transactional producer: the journal records of the signers it touched, the outcomes and
dead letters it decided, and the consumer offsets (`send_offsets_to_transaction`). Only after
that commit does it broadcast the transactions it signed in the step. So:

1. Killed before the commit: nothing of the step exists for readers (`read_committed`), the
   offsets did not move, and nothing was broadcast. The requests are consumed again and signed
   again at the same nonces, which nobody ever saw.
2. Killed after the commit, before or during the broadcast: the journal holds the raw
   transactions. On restart (partition assignment) the journal is read to its end and every
   in-flight attempt is broadcast again, byte for byte: same nonce, same hash, so the chain
   runs it at most once. The offsets moved with the journal, so the request is not re-read.
3. A mined transaction leaves the journal in the same Kafka transaction that publishes its
   outcome. Killed before that commit: the restart finds the receipt by hash and publishes
   the outcome then; killed after: the journal no longer lists it, so nothing repeats.
4. A request id already in flight or answered lately (`recent`) is dropped: a requester's
   retry never becomes a second transaction.

Restarting fences the previous incarnation: `init_transactions` with the same transactional
id aborts its open transaction, and static group membership hands its partitions straight to
the newcomer. With several instances, offsets committed through the transaction carry the
group generation, so an instance that lost its partitions cannot commit (KIP-447) and thus
never broadcasts what it signed; and a new owner fetches the group's offsets with
require_stable before it reads the journal, so no transaction of the old owner is still open.

Nonces. One signer's requests share a partition (the key is the signer), and a partition has
one owner, so one loop assigns one signer's nonces in order. A signer's first nonce is the
chain's pending count; after a restart, the larger of the journal's next nonce and the chain's
pending count (someone else may have used the key).

Pre-flight. A request is simulated (`eth_estimateGas` on the pending state) before it gets a
nonce: if it reverts, the outcome is REVERTED with the decoded custom error and nothing is
sent, so no gas is burned on a call known to fail. One that passes is sent with the estimate
plus a margin; if it still reverts on chain (the state moved), the receipt says so and the
error is recovered by replaying the call. A request whose deadline (`not_after`) passed before
it got a nonce is EXPIRED, unsent; once sent it runs to an outcome.

In-flight transactions (`submit_progress`) are looked at every step: the signer's mined count
first, then receipts by hash, so a missing receipt below that count really means another
transaction used the nonce. With `confirmations`, an outcome waits that many blocks.

Stuck transactions. When an attempt waited `bump_after_s` without a receipt, the same nonce
is signed again with both fees raised by `fee_bump_percent` (at least what the node suggests
now), journaled, then broadcast; any attempt of the request may be the one mined, so all
hashes are looked up. At the fee cap the last attempt is only rebroadcast. A nonce consumed by
a transaction that is none of ours gives REPLACED.

Bad input never stops the loop: bytes that are not a TxRequest go to `chain.tx-requests.dlq`;
a request naming an unknown contract, function or signer key, bad arguments, or a key other
than its signer goes there too, with a REJECTED outcome so the requester learns. Anything
else (Kafka or the node failing) raises: the process stops and its restart recovers as above.

Limits: duplicates are recognised within the last `recent_request_ids` answered ids of a
signer; a request rejected before it has a signer state (no key, bad call) is not remembered,
so a repeat of it is rejected again. Reading pauses while a signer has `max_in_flight`
transactions out (checked between steps, so one batch may pass it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from eth_account.signers.local import LocalAccount

from chain_bridge.calldata import Call, ContractBook, check_request_key
from chain_bridge.errors import JournalMismatchError, RequestRejected
from chain_bridge.revert import RevertDecoder
from chain_bridge.rpc import JsonRpc
from chain_bridge.signers import KeyRing, sign_attempt
from chain_bridge.stall_guard import stall_guard
from chain_bridge.submit_chain import ChainClient
from chain_bridge.submit_journal import read_journal
from chain_bridge.submit_progress import InFlightWatcher
from chain_bridge.submit_records import (
    Request,
    Status,
    journal_record,
    outcome_record,
    request_from_record,
)
from chain_bridge.submit_settings import SubmitSettings
from chain_bridge.submit_state import (
    Admission,
    Attempt,
    Fees,
    InFlight,
    SignerState,
    admit,
    fresh_state,
    initial_fees,
    resumed,
)
from schemas.catalog import PARTITIONER
from schemas.codec import Codec
from schemas.dead_letter import dead_letter_record
from schemas.errors import DecodeError

log = logging.getLogger(__name__)

KAFKA_TIMEOUT_S = 30
STALL_S = 3 * KAFKA_TIMEOUT_S  # both calls given their timeout, and some slack


@dataclass
class _Step:
    """What one loop step decided; nothing of it is real until the transaction commits."""

    states: dict[str, SignerState] = field(default_factory=dict)
    records: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)
    broadcasts: list[tuple[str, int, Attempt]] = field(default_factory=list)
    fees: Fees | None = None


class Submitter:
    """The loop; `run(stop)` returns when `stop` is set, and raises when it cannot go on."""

    def __init__(
        self,
        settings: SubmitSettings,
        keys: KeyRing,
        book: ContractBook,
        chain: ChainClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._s = settings
        self._keys = keys
        self._book = book
        self._chain = chain
        self._clock = clock
        self._codec = Codec()
        self._reverts = RevertDecoder(book.error_abis())
        self._chain_id = chain.chain_id()
        self._states: dict[str, SignerState] = {}
        self._partition_of: dict[str, int] = {}
        self._watcher = InFlightWatcher(settings, keys, chain, self._reverts, self._chain_id)
        self._paused = False
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # ---- the loop ----

    def run(self, stop: threading.Event) -> None:
        s = self._s
        self._producer = Producer(
            {
                "bootstrap.servers": s.kafka_bootstrap,
                "transactional.id": f"{s.group_id}.{s.instance_id}",
                "partitioner": PARTITIONER,
                "linger.ms": 5,
            }
        )
        # Aborts whatever transaction a previous incarnation left open, and fences it.
        self._producer.init_transactions(KAFKA_TIMEOUT_S)
        self._consumer = Consumer(
            {
                "bootstrap.servers": s.kafka_bootstrap,
                "group.id": s.group_id,
                "group.instance.id": s.instance_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": s.session_timeout_ms,
                "heartbeat.interval.ms": s.heartbeat_interval_ms,
            }
        )
        try:
            self._check_co_partitioned()
            self._consumer.subscribe(
                [s.requests_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
            )
            log.info(
                "submitter up group=%s instance=%s chain_id=%d signers=%d",
                s.group_id,
                s.instance_id,
                self._chain_id,
                len(self._keys),
            )
            while not stop.is_set():
                self._step()
        finally:
            self._consumer.close()
            log.info("submitter stopped instance=%s", s.instance_id)

    def _step(self) -> None:
        assert self._consumer is not None
        self._throttle()
        messages = self._consumer.consume(self._s.batch_max, timeout=self._s.poll_s)
        step = _Step()
        for msg in messages:
            error = msg.error()
            if error is not None:
                raise KafkaException(error)
            self._on_request(msg, step)
        self._on_progress(step)
        if messages or step.records or step.states:
            self._commit(step)
            self._states.update(step.states)
            for request_id, nonce, attempt in step.broadcasts:
                self._broadcast(request_id, nonce, attempt)

    def _commit(self, step: _Step) -> None:
        assert self._producer is not None and self._consumer is not None
        now = self._now_ms()
        p = self._producer
        p.begin_transaction()
        for topic, key, value in step.records:
            p.produce(topic, key=key, value=value)
        for signer, state in step.states.items():
            p.produce(
                self._s.journal_topic,
                key=signer.encode(),
                value=self._codec.encode("SignerJournal", journal_record(state, now)),
                # Beside the signer's requests, where the owner of that partition reads it.
                partition=self._partition_of[signer],
            )
        positions = [
            tp for tp in self._consumer.position(self._consumer.assignment()) if tp.offset >= 0
        ]
        with stall_guard("submit: committing a step's transaction", STALL_S):
            if positions:
                p.send_offsets_to_transaction(
                    positions, self._consumer.consumer_group_metadata(), KAFKA_TIMEOUT_S
                )
            p.commit_transaction(KAFKA_TIMEOUT_S)

    def _broadcast(self, request_id: str, nonce: int, attempt: Attempt) -> None:
        complaint = self._chain.broadcast(attempt.raw_tx)
        if complaint is None:
            log.info("broadcast request_id=%s nonce=%d tx=%s", request_id, nonce, attempt.tx_hash)
        else:
            # Not fatal: the receipt lookup or the next bump settles it.
            log.warning(
                "broadcast refused request_id=%s nonce=%d tx=%s: %s",
                request_id,
                nonce,
                attempt.tx_hash,
                complaint,
            )

    def _throttle(self) -> None:
        """Stop reading requests while a signer has too many transactions in flight."""
        assert self._consumer is not None
        full = any(len(st.in_flight) >= self._s.max_in_flight for st in self._states.values())
        if full != self._paused:
            assignment = self._consumer.assignment()
            (self._consumer.pause if full else self._consumer.resume)(assignment)
            self._paused = full
            log.info(
                "requests %s: a signer has %d in flight",
                "paused" if full else "resumed",
                self._s.max_in_flight,
            )

    # ---- requests ----

    def _on_request(self, msg: Message, step: _Step) -> None:
        now = self._now_ms()
        try:
            _, rec = self._codec.decode(msg.value() or b"", expect="TxRequest")
        except DecodeError as exc:
            self._dead_letter(msg, step, type(exc).__name__, str(exc))
            return
        req = request_from_record(rec)
        try:
            check_request_key(msg.key(), req.signer)
            account = self._keys.account(req.signer)
            call = self._book.encode_call(req.contract, req.function, req.args_json, req.value_wei)
        except RequestRejected as exc:
            self._dead_letter(msg, step, type(exc).__name__, str(exc))
            self._outcome(step, req.request_id, req.signer, Status.REJECTED, reason=str(exc))
            return
        state = self._state(step, req.signer, msg.partition() or 0)
        admission = admit(state, req.request_id, req.not_after_ms, now)
        if admission is Admission.DUPLICATE:
            log.info("duplicate dropped request_id=%s signer=%s", req.request_id, req.signer)
            return
        if admission is Admission.EXPIRED:
            reason = f"not_after {req.not_after_ms} passed before it was sent (now {now})"
            self._answer(step, state, req, Status.EXPIRED, reason=reason)
            return
        estimate = self._chain.estimate(req.signer, call.to, call.data, call.value_wei)
        if estimate.refusal is not None:
            # Answered, not retried: the same request would be refused again after a restart.
            reason = f"refused by the node, not sent: {estimate.refusal}"
            self._answer(step, state, req, Status.REJECTED, reason=reason)
            return
        if estimate.gas is None:
            revert = self._reverts.decode(estimate.revert_data)
            self._answer(
                step,
                state,
                req,
                Status.REVERTED,
                reason=f"reverts on the pending state, not sent: {revert.reason}",
                error_name=revert.name,
                error_args_json=revert.args_json,
            )
            return
        gas = self._s.gas_limit(call.contract, call.function, estimate.gas)
        tx = self._sign_new(account, state.next_nonce, call, gas, self._fees(step), req, now)
        step.states[req.signer] = state.with_sent(tx)
        step.broadcasts.append((req.request_id, tx.nonce, tx.latest))
        log.info(
            "signed request_id=%s signer=%s nonce=%d tx=%s call=%s.%s",
            req.request_id,
            req.signer,
            tx.nonce,
            tx.latest.tx_hash,
            call.contract,
            call.function,
        )

    def _sign_new(
        self,
        account: LocalAccount,
        nonce: int,
        call: Call,
        gas: int,
        fees: Fees,
        req: Request,
        now: int,
    ) -> InFlight:
        attempt = sign_attempt(
            account, self._chain_id, nonce, call.to, call.data, call.value_wei, gas, fees, now
        )
        return InFlight(req.request_id, nonce, call.to, call.data, call.value_wei, gas, (attempt,))

    def _state(self, step: _Step, signer: str, partition: int) -> SignerState:
        state = step.states.get(signer) or self._states.get(signer)
        if state is None:
            state = fresh_state(signer, self._chain_id, self._chain.nonce(signer, "pending"))
            self._partition_of[signer] = partition
        return state

    def _fees(self, step: _Step) -> Fees:
        if step.fees is None:
            base, priority = self._chain.suggested_fees()
            step.fees = initial_fees(base, priority, self._s.max_fee_per_gas_wei)
        return step.fees

    # ---- transactions in flight ----

    def _on_progress(self, step: _Step) -> None:
        progress = self._watcher.advance(
            {**self._states, **step.states}, self._now_ms(), lambda: self._fees(step)
        )
        step.states.update(progress.states)
        step.broadcasts.extend(progress.broadcasts)
        for settled in progress.settled:
            self._outcome(
                step, settled.request_id, settled.signer, settled.status, **settled.fields
            )
        for request_id, nonce, attempt in progress.rebroadcasts:
            self._broadcast(request_id, nonce, attempt)

    # ---- outcomes and dead letters ----

    def _answer(
        self, step: _Step, state: SignerState, req: Request, status: Status, **fields: Any
    ) -> None:
        """An outcome without a transaction; the journal remembers the id against repeats."""
        self._outcome(step, req.request_id, req.signer, status, **fields)
        step.states[req.signer] = state.with_outcome(req.request_id, self._s.recent_request_ids)

    def _outcome(
        self, step: _Step, request_id: str, signer: str, status: Status, **fields: Any
    ) -> None:
        step.records.append(self._outcome_message(request_id, signer, status, **fields))
        log.info(
            "outcome request_id=%s signer=%s nonce=%s tx=%s status=%s %s",
            request_id,
            signer,
            fields.get("nonce"),
            fields.get("tx_hash"),
            status,
            fields.get("reason", ""),
        )

    def _outcome_message(
        self, request_id: str, signer: str, status: Status, **fields: Any
    ) -> tuple[str, bytes | None, bytes]:
        record = outcome_record(request_id, signer, status, self._now_ms(), **fields)
        return (
            self._s.outcomes_topic,
            request_id.encode(),
            self._codec.encode("TxOutcome", record),
        )

    def _dead_letter(self, msg: Message, step: _Step, error_type: str, reason: str) -> None:
        record = dead_letter_record(
            topic=msg.topic() or "",
            partition=msg.partition() or 0,
            offset=msg.offset() or 0,
            key=msg.key(),
            value=msg.value(),
            consumer=self._s.group_id,
            error_type=error_type,
            reason=reason,
            now_ms=self._now_ms(),
        )
        step.records.append(
            (self._s.dlq_topic, msg.key(), self._codec.encode("DeadLetter", record))
        )
        log.warning(
            "dead letter topic=%s partition=%s offset=%s %s: %s",
            msg.topic(),
            msg.partition(),
            msg.offset(),
            error_type,
            reason,
        )

    # ---- partitions ----

    def _check_co_partitioned(self) -> None:
        assert self._consumer is not None
        topics = self._consumer.list_topics(timeout=KAFKA_TIMEOUT_S).topics
        counts = {}
        for name in (self._s.requests_topic, self._s.journal_topic):
            if name not in topics or topics[name].error is not None:
                raise JournalMismatchError(
                    f"topic {name!r} does not exist; create the catalog's topics"
                )
            counts[name] = len(topics[name].partitions)
        if len(set(counts.values())) != 1:
            raise JournalMismatchError(
                f"the journal must have as many partitions as the requests: {counts}"
            )

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = sorted(tp.partition for tp in partitions)
        # A read_committed consumer fetches offsets with require_stable: this returns only once
        # no transaction of a previous owner is open on these partitions. Every transaction of
        # ours carries offsets, so after it the journal below is final, not merely stable-so-far.
        consumer.committed(partitions, timeout=KAFKA_TIMEOUT_S)
        loaded = read_journal(
            self._s.kafka_bootstrap,
            self._s.journal_topic,
            numbers,
            self._codec,
            group_id=f"{self._s.group_id}.journal-reader",
        )
        for signer, (partition, journaled) in loaded.items():
            if journaled.chain_id != self._chain_id:
                raise JournalMismatchError(
                    f"journal of {signer} is for chain {journaled.chain_id}, "
                    f"the node is on {self._chain_id}"
                )
            state = resumed(journaled, self._chain.nonce(signer, "pending"))
            self._states[signer] = state
            self._partition_of[signer] = partition
            for tx in state.in_flight:
                # Same bytes as before the restart: same nonce, same hash, at most once.
                self._broadcast(tx.request_id, tx.nonce, tx.latest)
        log.info(
            "assigned partitions=%s signers=%d in_flight=%d",
            numbers,
            len(loaded),
            sum(len(st.in_flight) for _, st in loaded.values()),
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {tp.partition for tp in partitions}
        for signer in [s for s, p in self._partition_of.items() if p in gone]:
            self._states.pop(signer, None)
            self._partition_of.pop(signer)
        self._paused = False
        log.info("revoked partitions=%s", sorted(gone))


def run_submitter(settings: SubmitSettings, stop: threading.Event) -> None:
    """The wiring: keys, contracts and the node from `settings`, then the loop until `stop`."""
    keys = settings.key_ring()
    book = ContractBook.from_deployment(json.loads(settings.deployment_file.read_text()))
    Submitter(settings, keys, book, ChainClient(JsonRpc(settings.rpc_url))).run(stop)
