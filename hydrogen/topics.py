"""Create the catalog's topics on a Kafka cluster, and check the ones that already exist."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
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
    co-partitioned tables. A topic that someone else created while we looked is checked too.
    """
    wanted = {t.name: t for t in topics}
    existing = describe_topics(admin, wanted, timeout)
    _check_against_catalog(wanted, existing)
    missing = [t for name, t in wanted.items() if name not in existing]
    if not missing:
        return []
    new = [NewTopic(t.name, t.partitions, replication, config=t.config()) for t in missing]
    created, raced = [], []
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"creating topic {name!r} failed: {exc}") from exc
            raced.append(name)
            continue
        log.info("created topic=%s", name)
        created.append(name)
    if raced:
        _check_against_catalog(wanted, _describe_when_visible(admin, raced, timeout))
    return created


def _check_against_catalog(wanted: dict[str, Topic], found: dict[str, TopicState]) -> None:
    for name, state in found.items():
        t = wanted[name]
        if state.partitions != t.partitions or state.cleanup != str(t.cleanup):
            raise TopicMismatchError(
                f"topic {name!r} exists with {state.partitions} partitions and "
                f"cleanup.policy={state.cleanup}; the catalog says {t.partitions} and {t.cleanup}"
            )


def _describe_when_visible(
    admin: AdminClient, names: list[str], timeout: float
) -> dict[str, TopicState]:
    """Metadata lags a fresh topic by a moment: wait until every name is described."""
    deadline = time.monotonic() + timeout
    while True:
        found = describe_topics(admin, names, timeout)
        if len(found) == len(names) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
