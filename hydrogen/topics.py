"""Create the catalog's topics on a Kafka cluster, and check the ones that already exist."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from schemas.catalog import Topic

log = logging.getLogger(__name__)


class TopicMismatchError(RuntimeError):
    """A topic exists with a partition count or cleanup policy other than the catalog's."""


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    cleanup: str
    retention_ms: str


def describe_topics(
    admin: AdminClient, names: Iterable[str], timeout: float = 10
) -> dict[str, TopicState]:
    """Partition count and retention settings of the named topics that exist."""
    metadata = admin.list_topics(timeout=timeout).topics
    present = [n for n in names if n in metadata]
    if not present:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, n) for n in present]
    configs = {r.name: f.result(timeout) for r, f in admin.describe_configs(resources).items()}
    return {
        n: TopicState(
            name=n,
            partitions=len(metadata[n].partitions),
            cleanup=configs[n]["cleanup.policy"].value,
            retention_ms=configs[n]["retention.ms"].value,
        )
        for n in present
    }


def ensure_topics(
    admin: AdminClient, topics: Iterable[Topic], replication: int = 1, timeout: float = 30
) -> list[str]:
    """Create the topics that are missing; return their names.

    Existing topics are checked against the catalog: a different partition count or cleanup
    policy raises TopicMismatchError naming the topic, since silently using it would break
    co-partitioned tables.
    """
    topics = list(topics)
    existing = describe_topics(admin, [t.name for t in topics], timeout)
    for t in topics:
        found = existing.get(t.name)
        if found is None:
            continue
        if found.partitions != t.partitions or found.cleanup != str(t.cleanup):
            raise TopicMismatchError(
                f"topic {t.name!r} exists with {found.partitions} partitions and "
                f"cleanup.policy={found.cleanup}; the catalog says {t.partitions} and {t.cleanup}"
            )
    missing = [t for t in topics if t.name not in existing]
    if not missing:
        return []
    new = [NewTopic(t.name, t.partitions, replication, config=t.config()) for t in missing]
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            raise RuntimeError(f"creating topic {name!r} failed: {exc}") from exc
        log.info("created topic=%s", name)
    return [t.name for t in missing]
