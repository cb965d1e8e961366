"""The faust agents: decode -> table -> domain -> encode -> send, and nothing else.

    task_projection  chain.task-events -> table `tasks` (TaskState) -> tasks.snapshots, and
                     tasks.history when the status changed; the retraction of a task event
                     that said something about nodes -> streams.node-facts, to those nodes
    outcome_router   chain.tx-outcomes (keyed by request id) -> streams.tx-outcomes-by-task
                     (keyed by the task id inside the request id)
    node_fact_router chain.task-events that say something about nodes (`node_facts`) ->
                     streams.node-facts, the message as it is, keyed by each node it names
    node_projection  chain.node-events and streams.node-facts -> table `nodes` (NodeState)
                     -> nodes.snapshots
    node_saga        chain.task-events, inference.results, streams.tx-outcomes-by-task and
                     streams.ticks -> table `sagas` (our nodes' saga and the deadline keeper of
                     each task) -> inference.jobs, chain.tx-requests
    tick (timer)     writes the time to each streams.ticks partition this worker owns

Node facts. A node's read model folds its registry events (chain.node-events, keyed by node)
and what task events imply about it (chain.task-events, keyed by task), so the router copies
those task events to streams.node-facts, keyed by node and co-partitioned with
chain.node-events, where the node projection's table sees them. A retraction names an event,
not its nodes: only the task's state from before the retraction knows them, so the task
projection routes it, and a node may see a retraction before the fact it retracts
(`streams.domain.node` remembers it and drops the fact). Each copy carries the id of the app
that routed it (header `hydrogen-app`), and the node projection folds only its own app's
copies: a second app on the same topics (a rebuild beside the live one) copies every fact
again, and a node drops a copy by event id only while the fact is among its recent inputs
(`node.RECENT_LIMIT`), so another app's copies would be counted twice.

An agent that raises has its message acked and lost, so each message is handled inside one
`try`: whatever goes wrong (an undecodable value, a record the domain rejects) is sent whole,
with the reason, to the source topic's `.dlq`, and the agent goes on with the next message.

Order, and what a crash may lose. An agent hands its outputs to the producer before it writes
the table, but faust's send only buffers: a worker killed with SIGKILL can leave a table change
on its changelog while the outputs of that change are still unsent. The redelivered input then
finds the change already applied and asks for nothing, so the output would be lost for good.
(One Kafka transaction over outputs, changelog and offsets would close the gap; faust-streaming
0.15's "exactly_once" sends outputs and changelogs outside its transaction.)

So when a worker has recovered a table (at start, and after each rebalance), it sends again
what the recovered state implies for the tasks (and nodes) of its partitions that changed
within `resend_window_ms` of now: for the projection, the task's snapshot, its status changes
and the retractions it routed to nodes; for the node projection, the node's snapshot; for the
saga, every command asked and not yet answered (`saga.outstanding`, `deadline.outstanding`).
Offsets are committed only after faust flushes the producer, so an output older than the last
commit was delivered; the window (minutes) is far longer than the commit interval (seconds). The copies carry the ids of the first sends, and every consumer
drops a copy by id: the submitter by request id, the GPU consumers by job id, readers of
tasks.history by event id, the node projection by event id; a snapshot is the same value
again on a compacted topic. The node fact router holds no table, so it has nothing to resend:
what it routed before a crash is routed again from the uncommitted offsets.

Table writes happen one event at a time (never inside `stream.take()`): faust writes a table
change to the changelog partition of the *current* event, and a batch may span partitions.
Outputs are still batched, by the producer (`producer_linger`); the routers, which hold no
table, read in batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import faust
from faust.types import EventT, StreamT, TableT

from schemas.codec import Codec
from streams.agents_records import (
    ParkedResult,
    ProjectedNode,
    ProjectedTask,
    TaskEntry,
    dead_letter,
    inference_job,
    inference_result,
    node_snapshot,
    status_changed,
    status_history,
    table_key,
    task_snapshot,
)
from streams.domain import deadline, saga
from streams.domain import node as node_model
from streams.domain import task as task_model
from streams.domain.commands import Command, RequestTx, RunInference, task_of_request
from streams.domain.deadline import KeeperConfig, KeeperState, TaskDeadline
from streams.domain.errors import DomainError, UnknownRecord
from streams.domain.events import ChainEvent, LogRetracted, NodeEvent, TaskEvent, parse
from streams.domain.inputs import InferenceResult, Tick, TxOutcome
from streams.domain.node import NodeInput, NodeState, node_facts, node_retractions
from streams.domain.saga import SagaConfig, SagaState
from streams.projection import fact_nodes

log = logging.getLogger(__name__)

Event = EventT[Any]
APP_HEADER = "hydrogen-app"  # on streams.node-facts: the id of the app that routed the fact


@dataclass(frozen=True)
class Topics:
    task_events: faust.TopicT
    node_events: faust.TopicT
    inference_results: faust.TopicT
    tx_outcomes: faust.TopicT
    outcomes_by_task: faust.TopicT
    ticks: faust.TopicT
    node_facts: faust.TopicT
    inference_jobs: faust.TopicT
    tx_requests: faust.TopicT
    snapshots: faust.TopicT
    history: faust.TopicT
    node_snapshots: faust.TopicT
    dlq: dict[str, faust.TopicT]  # source topic name -> its .dlq


@dataclass(frozen=True)
class Wiring:
    app: faust.App
    topics: Topics
    tasks: TableT[str, Any]  # "chain:task" -> ProjectedTask
    sagas: TableT[str, Any]  # "chain:task" -> TaskEntry
    nodes: TableT[str, Any]  # "chain:address" -> ProjectedNode
    codec: Codec
    saga_config: SagaConfig
    keeper_config: KeeperConfig
    nonce_secret: bytes
    resend_window_ms: int


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _where(event: Event) -> str:
    m = event.message
    return f"topic={m.topic} partition={m.partition} offset={m.offset}"


def _key_of(event: Event, what: str) -> str:
    key = event.message.key
    if not key:
        raise ValueError(f"a message without a {what} key at {_where(event)}")
    return bytes(key).decode()


def _task_id_of(event: Event) -> str:
    return _key_of(event, "task id")


def _chain_event(w: Wiring, event: Event) -> tuple[str, ChainEvent]:
    """(table key, typed event) of a chain.task-events message."""
    name, record = w.codec.decode(bytes(event.value))
    parsed = parse(name, record)
    task_id = _task_id_of(event)
    if isinstance(parsed, LogRetracted):
        return table_key(parsed.chain_id, task_id), parsed
    if not hasattr(parsed, "task_id") or parsed.task_id != task_id:
        raise DomainError(
            f"{name} {parsed.meta.event_id} is not a task event of task {task_id!r}"
            f" (the message key)"
        )
    return table_key(parsed.meta.chain_id, task_id), parsed


def _not_ours(event: Event, exc: UnknownRecord) -> None:
    """A valid record the domain does not fold (e.g. TaskManagerCredited): nothing to do."""
    log.debug("skipped: %s %s", exc, _where(event))


async def _handle(
    w: Wiring, event: Event, consumer: str, step: Callable[[Wiring, Event], Awaitable[None]]
) -> None:
    """Run one message's step; never raise, since faust acks a message whose agent raised:
    a record the domain does not fold is skipped, anything else goes to the .dlq."""
    try:
        await step(w, event)
    except UnknownRecord as exc:
        _not_ours(event, exc)
    except Exception as exc:
        await _dead_letter(w, event, consumer, exc)


async def _dead_letter(
    w: Wiring,
    event: Event,
    consumer: str,
    exc: Exception,
    parked: ParkedResult | None = None,
) -> None:
    """Send the message (or the parked result it released) to its source's .dlq."""
    m = event.message
    source = w.topics.outcomes_by_task.get_topic_name()
    topic_name = w.topics.tx_outcomes.get_topic_name() if m.topic == source else m.topic
    offset, value = m.offset, m.value
    if parked is not None:
        topic_name = w.topics.inference_results.get_topic_name()
        offset, value = parked.offset, parked.value
    log.warning(
        "dead letter: %s: %s key=%r topic=%s partition=%s offset=%s",
        type(exc).__name__, exc, m.key, topic_name, m.partition, offset,
    )  # fmt: skip
    dlq = w.topics.dlq.get(topic_name)
    if dlq is None:
        log.error("no dead-letter topic for %s; message dropped %s", topic_name, _where(event))
        return
    record = dead_letter(
        topic=topic_name,
        partition=m.partition,
        offset=offset,
        key=None if m.key is None else bytes(m.key),
        value=None if value is None else bytes(value),
        consumer=f"{w.app.conf.id}.{consumer}",
        error=exc,
        now_ms=now_ms(),
    )
    await dlq.send(key=m.key, value=w.codec.encode("DeadLetter", record), partition=m.partition)


async def _send_commands(w: Wiring, commands: list[Command], now: int) -> None:
    for command in commands:
        if isinstance(command, RunInference):
            value = w.codec.encode("InferenceJob", inference_job(command, now))
            await w.topics.inference_jobs.send(key=command.task_id.encode(), value=value)
        elif isinstance(command, RequestTx):
            value = w.codec.encode("TxRequest", command.to_record())
            await w.topics.tx_requests.send(key=command.signer.encode(), value=value)
        name = command.job_id if isinstance(command, RunInference) else command.request_id
        log.info("command %s id=%s", type(command).__name__, name)


def register_agents(w: Wiring, tick_seconds: float) -> None:
    """Define the agents and the timer on `w.app` (faust needs the app to define them)."""
    app, topics = w.app, w.topics
    _register_node_agents(w)

    @app.agent(topics.task_events, name="task_projection")
    async def task_projection(stream: StreamT[Any]) -> None:
        async for event in stream.events():
            await _handle(w, event, "task_projection", _project)

    @app.agent(topics.tx_outcomes, name="outcome_router")
    async def outcome_router(stream: StreamT[Any]) -> None:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events
        async for batch in stream.take_events(500, within=0.05):
            for event in batch:
                await _handle(w, event, "outcome_router", _route_outcome)

    saga_sources = app.topic(
        topics.task_events.get_topic_name(),
        topics.inference_results.get_topic_name(),
        topics.outcomes_by_task.get_topic_name(),
        topics.ticks.get_topic_name(),
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(saga_sources, name="node_saga")
    async def node_saga(stream: StreamT[Any]) -> None:
        async for event in stream.events():
            await _handle(w, event, "node_saga", _saga_step)

    @w.tasks.on_recover
    async def tasks_recovered() -> None:
        await resend_projection(w)

    @w.sagas.on_recover
    async def sagas_recovered() -> None:
        await resend_commands(w)

    @app.timer(interval=tick_seconds, name="tick")  # type: ignore[untyped-decorator]
    async def tick() -> None:
        ticks = topics.ticks.get_topic_name()
        value = w.codec.encode("StreamTick", {"now": now_ms()})
        for tp in sorted(app.consumer.assignment()):
            if tp.topic == ticks:
                await topics.ticks.send(value=value, partition=tp.partition)


def _register_node_agents(w: Wiring) -> None:
    """The node fact router and the node projection (see "Node facts")."""
    app, topics = w.app, w.topics

    @app.agent(topics.task_events, name="node_fact_router")
    async def node_fact_router(stream: StreamT[Any]) -> None:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events
        async for batch in stream.take_events(500, within=0.05):
            for event in batch:
                await _handle(w, event, "node_fact_router", _route_facts)

    node_sources = app.topic(
        topics.node_events.get_topic_name(),
        topics.node_facts.get_topic_name(),
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(node_sources, name="node_projection")
    async def node_projection(stream: StreamT[Any]) -> None:
        async for event in stream.events():
            await _handle(w, event, "node_projection", _project_node)

    @w.nodes.on_recover
    async def nodes_recovered() -> None:
        await resend_nodes(w)


async def _project(w: Wiring, event: Event) -> None:
    key, item = _chain_event(w, event)
    entry = w.tasks.get(key)
    before = entry.state if entry is not None else task_model.TaskState(_task_id_of(event))
    after = task_model.evolve(before, item)  # type: ignore[arg-type]
    if after == before:
        return  # a redelivery
    task_key = after.task_id.encode()
    snapshot = w.codec.encode("TaskSnapshot", task_snapshot(after))
    await w.topics.snapshots.send(key=task_key, value=snapshot)
    change = status_changed(before, after)
    if change is not None:
        history = w.codec.encode("TaskStatusChanged", change)
        await w.topics.history.send(key=task_key, value=history)
    routed = await _route_retraction(w, event, before, item)
    # after its outputs: see "Order" in the module docstring
    earlier = entry.node_retractions if entry is not None else ()
    w.tasks[key] = ProjectedTask(after, event.message.partition, now_ms(), (*earlier, *routed))
    if change is not None:
        log.info(
            "task_id=%s %s -> %s %s",
            after.task_id, change["from_status"], change["to_status"], _where(event),
        )  # fmt: skip


async def _send_fact(w: Wiring, node: str, value: bytes) -> None:
    headers = {APP_HEADER: str(w.app.conf.id).encode()}
    await w.topics.node_facts.send(key=node.encode(), value=value, headers=headers)


async def _route_retraction(
    w: Wiring, event: Event, before: task_model.TaskState, item: ChainEvent
) -> tuple[tuple[str, bytes], ...]:
    """Send a retraction to the nodes that the retracted event's facts went to."""
    if not isinstance(item, LogRetracted):
        return ()
    value = bytes(event.value)
    nodes = dict.fromkeys(node for node, _ in node_retractions(before, item))
    for node in nodes:
        await _send_fact(w, node, value)
    return tuple((node, value) for node in nodes)


async def _route_facts(w: Wiring, event: Event) -> None:
    _, item = _chain_event(w, event)
    if not isinstance(item, TaskEvent):
        return  # a LogRetracted: the task projection routes it (see "Node facts")
    for node in fact_nodes(item):
        await _send_fact(w, node, bytes(event.value))


def _routed_here(w: Wiring, event: Event) -> bool:
    """Whether a streams.node-facts message was routed by this app (see "Node facts")."""
    return event.headers.get(APP_HEADER) == str(w.app.conf.id).encode()


def _node_inputs(
    w: Wiring, event: Event, address: str
) -> tuple[int, list[NodeInput | LogRetracted]]:
    """(chain id, what the node's state folds) of a chain.node-events or streams.node-facts
    message keyed by `address`."""
    name, record = w.codec.decode(bytes(event.value))
    item = parse(name, record)
    if isinstance(item, LogRetracted):
        return item.chain_id, [item]
    if event.message.topic == w.topics.node_facts.get_topic_name():
        facts = node_facts(item) if isinstance(item, TaskEvent) else ()
        mine: list[NodeInput | LogRetracted] = [f for f in facts if f.node == address]
        if not mine:
            raise DomainError(
                f"{name} {item.meta.event_id} says nothing about node {address!r} (the message key)"
            )
        return item.meta.chain_id, mine
    if not isinstance(item, NodeEvent) or item.node != address:
        raise DomainError(
            f"{name} {item.meta.event_id} is not an event of node {address!r} (the message key)"
        )
    return item.meta.chain_id, [item]


async def _project_node(w: Wiring, event: Event) -> None:
    m = event.message
    if m.topic == w.topics.node_facts.get_topic_name() and not _routed_here(w, event):
        return  # another app's copy: that app folds it
    address = _key_of(event, "node address")
    chain_id, inputs = _node_inputs(w, event, address)
    key = table_key(chain_id, address)
    entry = w.nodes.get(key)
    before = entry.state if entry is not None else NodeState(address)
    after = before
    for item in inputs:
        after = node_model.evolve(after, item)
    if after == before:
        return  # a redelivery
    if after.version != before.version:  # not only a retraction remembered for later
        snapshot = w.codec.encode("NodeSnapshot", node_snapshot(chain_id, after))
        await w.topics.node_snapshots.send(key=address.encode(), value=snapshot)
    # after its outputs: see "Order" in the module docstring
    w.nodes[key] = ProjectedNode(after, m.partition, now_ms())


async def _route_outcome(w: Wiring, event: Event) -> None:
    _, record = w.codec.decode(bytes(event.value), expect="TxOutcome")
    request_id = str(record["request_id"])
    try:
        task_id = task_of_request(request_id)
    except ValueError:
        return  # a request of another component: no task of ours waits for it
    await w.topics.outcomes_by_task.send(key=task_id.encode(), value=bytes(event.value))


def _entry(w: Wiring, key: str, task_id: str, partition: int) -> TaskEntry:
    entry = w.sagas.get(key)
    if entry is None:
        return TaskEntry(SagaState.start(task_id), KeeperState(), partition)
    assert isinstance(entry, TaskEntry), f"table sagas holds a {type(entry).__name__} at {key}"
    return entry


def _advance(
    w: Wiring, entry: TaskEntry, item: saga.SagaInput | None, now: int
) -> tuple[TaskEntry, list[Command]]:
    """Step our nodes' saga by `item`, then the keeper by the task's deadline."""
    commands: list[Command] = []
    state = entry.saga
    if item is not None:
        state, commands = saga.step(state, item, now, w.saga_config)
    keeper = entry.keeper
    if isinstance(item, TxOutcome):
        keeper, expires = deadline.step(keeper, item, now, w.keeper_config)
        commands.extend(expires)
    watch = TaskDeadline.of(state.task)
    if watch is not None:
        keeper, expires = deadline.step(keeper, watch, now, w.keeper_config)
        commands.extend(expires)
    return replace(entry, saga=state, keeper=keeper), commands


async def _saga_step(w: Wiring, event: Event) -> None:
    m = event.message
    topics, now = w.topics, now_ms()
    if m.topic == topics.ticks.get_topic_name():
        await _tick(w, event, now)
        return
    item: saga.SagaInput
    if m.topic == topics.task_events.get_topic_name():
        key, chain_item = _chain_event(w, event)
        item = chain_item  # type: ignore[assignment]
        task_id = _task_id_of(event)
    elif m.topic == topics.inference_results.get_topic_name():
        _, record = w.codec.decode(bytes(event.value), expect="InferenceResult")
        chain_id, item = inference_result(record, w.nonce_secret)
        task_id = item.task_id
        if task_id != _task_id_of(event):
            raise DomainError(f"result of task {task_id} under the key of another task")
        key = table_key(chain_id, task_id)
        entry = _entry(w, key, task_id, m.partition)
        if entry.saga.duty(item.node) is None and not entry.saga.done:
            parked = ParkedResult(item, m.offset, bytes(event.value))
            w.sagas[key] = replace(entry, parked=(*entry.parked, parked), changed_at_ms=now)
            log.info("parked a result of node %s task_id=%s %s", item.node, task_id, _where(event))
            return
    else:
        _, record = w.codec.decode(bytes(event.value), expect="TxOutcome")
        item = TxOutcome.from_record(record)
        task_id = task_of_request(item.request_id)
        key = table_key(int(item.request_id.split(":", 1)[0]), task_id)
        if key not in w.sagas:
            return  # an outcome of a task this app has not seen (another chain, another app)
    entry = _entry(w, key, task_id, m.partition)
    after, commands = _advance(w, entry, item, now)
    if after.parked and not isinstance(item, InferenceResult):
        after, more = await _unpark(w, event, after, now)
        commands.extend(more)
    await _send_commands(w, commands, now)
    if after != entry:
        # after its outputs: see "Order" in the module docstring
        w.sagas[key] = replace(after, changed_at_ms=now)


async def _unpark(
    w: Wiring, event: Event, entry: TaskEntry, now: int
) -> tuple[TaskEntry, list[Command]]:
    """Offer the parked results again; keep those the saga still has no duty for."""
    commands: list[Command] = []
    keep: list[ParkedResult] = []
    for parked in entry.parked:
        if entry.saga.done:
            continue  # the task ended: nothing will ever want the result
        if entry.saga.duty(parked.item.node) is None:
            keep.append(parked)
            continue
        try:
            entry, more = _advance(w, replace(entry, parked=()), parked.item, now)
        except DomainError as exc:
            await _dead_letter(w, event, "node_saga", exc, parked=parked)
            continue
        commands.extend(more)
    return replace(entry, parked=tuple(keep)), commands


async def _tick(w: Wiring, event: Event, now: int) -> None:
    """Time for the keeper, for every task stored on the tick's partition."""
    _, record = w.codec.decode(bytes(event.value), expect="StreamTick")
    at = record["now"]
    tick = Tick(round(at.timestamp() * 1000) if hasattr(at, "timestamp") else int(at))
    partition = event.message.partition
    for key, entry in list(w.sagas.items()):
        if entry.partition != partition or not entry.keeper.watches:
            continue
        keeper, expires = deadline.step(entry.keeper, tick, tick.now_ms, w.keeper_config)
        await _send_commands(w, list(expires), now)
        if keeper != entry.keeper:
            w.sagas[key] = replace(entry, keeper=keeper, changed_at_ms=now)


def _owned_partitions(w: Wiring, source: faust.TopicT) -> set[int]:
    """Partitions of `source` assigned to this worker (those of the tables it feeds)."""
    name = source.get_topic_name()
    return {tp.partition for tp in w.app.consumer.assignment() if tp.topic == name}


def _recent(w: Wiring, changed_at_ms: int, now: int, owned: set[int], partition: int) -> bool:
    return partition in owned and now - changed_at_ms <= w.resend_window_ms


async def resend_projection(w: Wiring) -> None:
    """After recovery: snapshots, status changes and routed retractions of recently changed
    tasks, again."""
    now, owned, sent = now_ms(), _owned_partitions(w, w.topics.task_events), 0
    for entry in list(w.tasks.values()):
        if not _recent(w, entry.changed_at_ms, now, owned, entry.partition):
            continue
        task = entry.state
        key = task.task_id.encode()
        if task.chain_id is not None:  # None: every event it had was retracted
            snapshot = w.codec.encode("TaskSnapshot", task_snapshot(task))
            await w.topics.snapshots.send(key=key, value=snapshot)
        for change in status_history(task):
            history = w.codec.encode("TaskStatusChanged", change)
            await w.topics.history.send(key=key, value=history)
        for node, value in entry.node_retractions:
            await _send_fact(w, node, value)
        sent += 1
    log.info("recovered table tasks: resent the outputs of %d recently changed tasks", sent)


async def resend_nodes(w: Wiring) -> None:
    """After recovery: snapshots of recently changed nodes, again."""
    now, owned, sent = now_ms(), _owned_partitions(w, w.topics.node_events), 0
    for entry in list(w.nodes.values()):
        state: NodeState = entry.state
        if state.chain_id is None or not _recent(
            w, entry.changed_at_ms, now, owned, entry.partition
        ):
            continue  # no chain id: only retractions remembered, nothing to show
        snapshot = w.codec.encode("NodeSnapshot", node_snapshot(state.chain_id, state))
        await w.topics.node_snapshots.send(key=state.address.encode(), value=snapshot)
        sent += 1
    log.info("recovered table nodes: resent the snapshots of %d recently changed nodes", sent)


async def resend_commands(w: Wiring) -> None:
    """After recovery: every command of a recently changed task that is still unanswered."""
    now, owned, sent = now_ms(), _owned_partitions(w, w.topics.task_events), 0
    for entry in list(w.sagas.values()):
        if not _recent(w, entry.changed_at_ms, now, owned, entry.partition):
            continue
        commands = saga.outstanding(entry.saga, now, w.saga_config)
        commands += deadline.outstanding(entry.keeper, now, w.keeper_config)
        await _send_commands(w, commands, now)
        sent += len(commands)
    log.info("recovered table sagas: resent %d unanswered commands", sent)
