"""`create_app(settings)`: the one place where the streams' faust app is wired.

Topics come from the catalog (`schemas.catalog`), with its partition counts; faust declares
(creates) nothing: `topic_allow_declare=False`. The catalog topics exist because deployments
create them (`hydrogen topics create`, `hydrogen devnet up`); the tables' changelog topics
are named after the app id (`<app id>-<table>-changelog`), so they cannot be in the catalog:
`changelog_topics(settings)` gives them as catalog `Topic`s (compacted, each with the partition
count of the topics its table is keyed like: the task tables have the task partitions, `nodes`
the node partitions) and the worker's entry point creates them, and checks existing ones,
before it starts.

Values travel as raw bytes (`value_serializer="raw"`) and are encoded and decoded with our
Avro codec in the agents. Tables are in memory (`store="memory://"`) and are rebuilt from
their changelog topics when a worker starts or takes over a partition.

`create_app` first installs `streams.faust_fixes`: without them faust-streaming 0.15 loses
input messages after a rebalance.
"""

from __future__ import annotations

import faust

from schemas.catalog import (
    CHAIN_NODE_EVENTS,
    CHAIN_TASK_EVENTS,
    CHAIN_TX_OUTCOMES,
    CHAIN_TX_REQUESTS,
    FOREVER,
    INFERENCE_JOBS,
    INFERENCE_RESULTS,
    NODE_PARTITIONS,
    NODES_SNAPSHOTS,
    STREAMS_NODE_FACTS,
    STREAMS_TICKS,
    STREAMS_TX_OUTCOMES_BY_TASK,
    TASK_PARTITIONS,
    TASKS_HISTORY,
    TASKS_SNAPSHOTS,
    Cleanup,
    Topic,
)
from schemas.codec import Codec
from streams.agents import Topics, Wiring, register_agents
from streams.agents_records import STATE_CODEC
from streams.domain.deadline import KeeperConfig
from streams.domain.saga import SagaConfig
from streams.faust_fixes import apply as apply_faust_fixes
from streams.settings import StreamsSettings

# Table name -> (what its key holds, its partition count): a table is co-partitioned with the
# topics it is fed from, and so is its changelog.
TABLES = {
    "tasks": ("chain id:task id", TASK_PARTITIONS),
    "sagas": ("chain id:task id", TASK_PARTITIONS),
    "nodes": ("chain id:node address", NODE_PARTITIONS),
}
# What the agents consume, in the worker's consumer group.
SOURCE_TOPICS = (
    CHAIN_TASK_EVENTS,
    CHAIN_NODE_EVENTS,
    INFERENCE_RESULTS,
    CHAIN_TX_OUTCOMES,
    STREAMS_TX_OUTCOMES_BY_TASK,
    STREAMS_TICKS,
    STREAMS_NODE_FACTS,
)
_DLQ_SOURCES = (
    CHAIN_TASK_EVENTS,
    CHAIN_NODE_EVENTS,
    INFERENCE_RESULTS,
    CHAIN_TX_OUTCOMES,
    STREAMS_NODE_FACTS,
)


def changelog_topics(settings: StreamsSettings) -> list[Topic]:
    """The tables' changelog topics, each co-partitioned with its table's sources."""
    return [
        Topic(
            f"{settings.app_id}-{table}-changelog",
            key=f"table key ({key})",
            description=f"Changelog of the streams table {table!r} of app {settings.app_id}.",
            partitions=partitions,
            cleanup=Cleanup.COMPACT,
            retention_ms=FOREVER,
        )
        for table, (key, partitions) in TABLES.items()
    ]


def _topic(app: faust.App, entry: Topic) -> faust.TopicT:
    return app.topic(
        entry.name,
        partitions=entry.partitions,
        key_serializer="raw",
        value_serializer="raw",
    )


def create_app(settings: StreamsSettings) -> faust.App:
    apply_faust_fixes()
    app = faust.App(
        settings.app_id,
        broker=settings.broker_urls,
        store="memory://",
        datadir=str(settings.data_dir),
        key_serializer="raw",
        value_serializer="raw",
        topic_allow_declare=False,
        topic_disable_leader=True,  # no leader topic to create; ticks are per partition
        topic_partitions=TASK_PARTITIONS,
        consumer_auto_offset_reset="earliest",
        # at_least_once: faust flushes the producer before it commits offsets, so a crash
        # repeats work rather than skipping it. Its "exactly_once" commits offsets in a
        # transaction but sends outputs and changelogs outside it without that flush (table
        # state was lost after a kill -9 in our tests). The price: the consumer reads
        # read_uncommitted, so an aborted ingest transaction is visible; the domain drops
        # the retried copies by event id and chain position.
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 4),
        producer_acks=-1,
        producer_linger=settings.producer_linger_ms / 1000,
        producer_max_batch_size=settings.producer_max_batch_bytes,
        stream_wait_empty=False,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
    )
    topics = Topics(
        task_events=_topic(app, CHAIN_TASK_EVENTS),
        node_events=_topic(app, CHAIN_NODE_EVENTS),
        inference_results=_topic(app, INFERENCE_RESULTS),
        tx_outcomes=_topic(app, CHAIN_TX_OUTCOMES),
        outcomes_by_task=_topic(app, STREAMS_TX_OUTCOMES_BY_TASK),
        ticks=_topic(app, STREAMS_TICKS),
        node_facts=_topic(app, STREAMS_NODE_FACTS),
        inference_jobs=_topic(app, INFERENCE_JOBS),
        tx_requests=_topic(app, CHAIN_TX_REQUESTS),
        snapshots=_topic(app, TASKS_SNAPSHOTS),
        history=_topic(app, TASKS_HISTORY),
        node_snapshots=_topic(app, NODES_SNAPSHOTS),
        dlq={t.name: _topic(app, t.dlq) for t in _DLQ_SOURCES},
    )
    tables = {}
    for name, changelog in zip(TABLES, changelog_topics(settings), strict=True):
        # faust would derive the changelog's serializers from key_type / value_type (json).
        table = app.Table(
            name,
            partitions=changelog.partitions,
            changelog_topic=app.topic(
                changelog.name,
                partitions=changelog.partitions,
                key_serializer="json",
                value_serializer=STATE_CODEC,
                compacting=True,
                acks=False,
                internal=True,
            ),
        )
        assert isinstance(table, faust.Table)
        table.value_serializer = STATE_CODEC  # what send_changelog encodes with
        tables[name] = table
    wiring = Wiring(
        app=app,
        topics=topics,
        tasks=tables["tasks"],
        sagas=tables["sagas"],
        nodes=tables["nodes"],
        codec=Codec(),
        saga_config=SagaConfig(nodes=frozenset(settings.node_addresses)),
        keeper_config=KeeperConfig(signer=settings.keeper_address),
        nonce_secret=settings.nonce_secret.get_secret_value().encode(),
        resend_window_ms=round(settings.resend_window_seconds * 1000),
    )
    register_agents(wiring, settings.tick_seconds)
    return app
