from __future__ import annotations

import pytest

from schemas.catalog import (
    FOREVER,
    NODE_PARTITIONS,
    TASK_PARTITIONS,
    TOPICS,
    Cleanup,
    Topic,
    topic,
)
from schemas.registry import SchemaRegistry


def test_topic_names_are_unique() -> None:
    names = [t.name for t in TOPICS]
    assert len(names) == len(set(names))


def test_topics_keyed_by_task_id_are_co_partitioned() -> None:
    # faust tables join these topics by task id: they need one partition count.
    counts = {t.name: t.partitions for t in TOPICS if t.key == "task id"}
    assert set(counts.values()) == {TASK_PARTITIONS}, counts


def test_topics_keyed_by_node_address_are_co_partitioned() -> None:
    # The node projection's table joins chain.node-events and streams.node-facts by node.
    counts = {t.name: t.partitions for t in TOPICS if t.key == "node address"}
    assert {"chain.node-events", "streams.node-facts", "nodes.snapshots"} <= set(counts)
    assert set(counts.values()) == {NODE_PARTITIONS}, counts


def test_every_dlq_mirrors_its_source_and_keeps_records_forever() -> None:
    for dlq in (t for t in TOPICS if t.name.endswith(".dlq")):
        source = topic(dlq.name.removesuffix(".dlq"))
        assert (dlq.key, dlq.partitions, dlq.retention_ms) == (
            source.key,
            source.partitions,
            FOREVER,
        )


def test_snapshots_are_compacted_and_history_is_kept_forever() -> None:
    assert topic("tasks.snapshots").config()["cleanup.policy"] == "compact"
    assert topic("nodes.snapshots").cleanup is Cleanup.COMPACT
    assert topic("tasks.history").config()["retention.ms"] == "-1"
    assert topic("chain.task-events").config() == {"cleanup.policy": "delete", "retention.ms": "-1"}


def test_an_unknown_topic_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"no topic 'chain\.typo'.*chain\.task-events"):
        topic("chain.typo")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"partitions": 0}, "partitions must be >= 1, got 0"),
        ({"partitions": 1, "retention_ms": 0}, "retention_ms must be positive or FOREVER, got 0"),
    ],
)
def test_a_bad_topic_definition_names_the_bad_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Topic("x", key="k", description="d", **kwargs)


def test_every_value_schema_named_by_the_catalog_exists() -> None:
    known = set(SchemaRegistry().names)
    named = {name for t in TOPICS for name in t.values}
    assert named <= known, named - known
    assert topic("chain.tx-requests").values == ("TxRequest",)
    assert topic("inference.jobs.dlq").values == ("DeadLetter",)
