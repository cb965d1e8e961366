"""Task status, the SSE stream of tasks.history, nodes and stats, and the operational routes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from confluent_kafka import Producer
from conftest import relay_settings, sd_args, start_server
from relay_helpers import APP, ChainTasks, RelayServer

from hydrogen.cli import cli
from relay_api.client import RelayHTTPError
from relay_api.partitioning import partition_of
from schemas.catalog import PARTITIONER, TASKS_HISTORY
from schemas.codec import Codec

CHAIN = 31337


def insert_task(db, task_id: str, status: str, created: datetime, **times: datetime) -> None:
    db.execute(
        f"""INSERT INTO tasks (chain_id, task_id, status, creator, task_type, version, created_at
                               {"".join(", " + k for k in times)})
            VALUES (%s, %s, %s, %s, 'SD', 1, %s {", %s" * len(times)})""",
        (CHAIN, task_id, status, APP.address, created, *times.values()),
    )


def test_a_projected_tasks_status_comes_from_the_read_model(relay: RelayServer, db) -> None:
    insert_task(db, "5000001", "Running", datetime.now(UTC))
    info = relay.client().task(5000001)
    assert (info.status, info.source, info.creator) == ("Running", "read-model", APP.address)


def test_a_task_not_projected_yet_is_read_from_the_chain(
    relay: RelayServer, chain: ChainTasks
) -> None:
    task_id, nodes = chain.running_task(sd_args(seed=50))
    info = relay.client().task(task_id)
    assert (info.status, info.source, info.selected_nodes) == ("Running", "chain", tuple(nodes))


def test_an_unknown_task_is_404(relay: RelayServer, chain: ChainTasks) -> None:
    with pytest.raises(RelayHTTPError) as err:
        relay.client().task(123_456_789)
    assert err.value.status == 404


def _history(task_id: str, changes: list[tuple[str, str]]) -> None:
    producer = Producer({"bootstrap.servers": _history.bootstrap, "partitioner": PARTITIONER})  # type: ignore[attr-defined]
    codec = Codec()
    for version, (before, after) in enumerate(changes, start=1):
        record = {
            "event_id": f"{CHAIN}:0x{task_id}:{version}", "task_id": task_id, "chain_id": CHAIN,
            "from_status": before, "to_status": after, "abort_reason": "NONE",
            "changed_at": datetime.now(UTC), "phase_ms": 1000, "since_created_ms": 1000 * version,
            "version": version,
        }  # fmt: skip
        producer.produce(
            TASKS_HISTORY.name,
            key=task_id.encode(),
            value=codec.encode("TaskStatusChanged", record),
        )
    producer.flush(10)


@pytest.fixture
def history(kafka_bootstrap: str):
    _history.bootstrap = kafka_bootstrap  # type: ignore[attr-defined]
    return _history


def test_events_stream_the_tasks_history_until_it_ends_and_resume_after_last_event_id(
    relay: RelayServer, db, history
) -> None:
    task_id = str(6_000_000 + int(time.time()) % 100_000)
    insert_task(db, task_id, "Completed", datetime.now(UTC) - timedelta(seconds=5))
    history(task_id, [("None", "Running"), ("Running", "Disclosing"), ("Disclosing", "Validated"),
                      ("Validated", "Completed")])  # fmt: skip
    events = list(relay.client().events(task_id))
    assert [e.to_status for e in events] == ["Running", "Disclosing", "Validated", "Completed"]
    resumed = list(relay.client().events(task_id, last_event_id=events[1].id))
    assert [e.to_status for e in resumed] == ["Validated", "Completed"]


def test_the_history_partition_is_the_one_kafka_puts_the_key_on(kafka_bootstrap: str) -> None:
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": PARTITIONER})
    placed = {}
    for key in ("1", "42", "123456789012345678901234567890", "7"):
        producer.produce(TASKS_HISTORY.name, key=key.encode(), value=b"x",
                         on_delivery=lambda err, m, key=key: placed.__setitem__(key, m.partition()))  # fmt: skip
    producer.flush(10)
    assert placed == {k: partition_of(k.encode(), TASKS_HISTORY.partitions) for k in placed}


def test_a_malformed_last_event_id_is_400(relay: RelayServer, db) -> None:
    insert_task(db, "5000002", "Running", datetime.now(UTC))
    response = httpx.get(f"{relay.url}/v1/tasks/5000002/events", headers={"Last-Event-ID": "abc"})
    assert response.status_code == 400
    assert "abc" in response.json()["detail"]


def test_nodes_are_listed_from_the_read_model(relay: RelayServer, db) -> None:
    for i, status in enumerate(("Available", "Busy", "Slashed")):
        db.execute(
            """INSERT INTO nodes (chain_id, address, status, tasks, successes, slashes, version)
               VALUES (%s, %s, %s, %s, %s, %s, 1)""",
            (CHAIN, f"0x{i:040x}", status, 10, 10 - 3 * i, i),
        )
    client = relay.client()
    assert [n["status"] for n in client.nodes()] == ["Available", "Busy", "Slashed"]
    assert [n["address"] for n in client.nodes(status="Busy")] == [f"0x{1:040x}"]
    ranked = client.stats("nodes")["nodes"]
    assert [(n["successes"], n["slashes"]) for n in ranked] == [(10, 0), (7, 1), (4, 2)]


def test_stats_count_tasks_per_hour_and_phase_latency(relay: RelayServer, db) -> None:
    now = datetime.now(UTC).replace(minute=30)
    for i in range(4):
        insert_task(db, f"70000{i}", "Completed", now, started_at=now + timedelta(seconds=2 + i),
                    ended_at=now + timedelta(seconds=10 + i))  # fmt: skip
    insert_task(db, "700010", "Running", now, started_at=now + timedelta(seconds=1))
    client = relay.client()
    buckets = client.stats("tasks-per-hour", hours=2)["buckets"]
    assert {(b["status"], b["tasks"]) for b in buckets} == {("Completed", 4), ("Running", 1)}
    phases = {p["phase"]: p for p in client.stats("phase-latency", hours=2)["phases"]}
    assert phases["queue"]["tasks"] == 5
    assert phases["queue"]["p50_s"] == pytest.approx(3.0)  # of 1, 2, 3, 4, 5 s
    assert phases["total"]["p90_s"] == pytest.approx(12.7)


def test_stats_refuse_a_window_out_of_range(relay: RelayServer) -> None:
    response = httpx.get(f"{relay.url}/v1/stats/tasks-per-hour", params={"hours": 0})
    assert response.status_code == 422
    assert response.json()["field"] == "query.hours"


def test_health_readiness_metrics_and_docs(relay: RelayServer) -> None:
    assert httpx.get(f"{relay.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{relay.url}/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"postgres", "object_store", "kafka", "chain"}
    httpx.get(f"{relay.url}/v1/tasks/1", headers={"X-Request-ID": "trace-me-1"})
    metrics = httpx.get(f"{relay.url}/metrics").text
    assert 'relay_requests_total{method="GET",route="/v1/tasks/{task_id}"' in metrics
    assert httpx.get(f"{relay.url}/docs").status_code == 200
    spec = httpx.get(f"{relay.url}/openapi.json").json()
    assert "/v1/tasks/{task_id}/results/{node}/{index}" in spec["paths"]


def test_the_request_id_is_echoed(relay: RelayServer) -> None:
    response = httpx.get(f"{relay.url}/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert len(httpx.get(f"{relay.url}/healthz").headers["x-request-id"]) == 32


def test_readiness_fails_when_postgres_is_unreachable(devnet, s3_service, tmp_path) -> None:
    server = start_server(
        relay_settings(devnet, None, tmp_path, pg_dsn="postgresql://nobody@127.0.0.1:1/none")
    )
    try:
        response = httpx.get(f"{server.url}/readyz", timeout=20)
        assert response.status_code == 503
        assert response.json()["checks"]["postgres"].startswith("failed")
        assert response.json()["checks"]["kafka"] == "ok"
    finally:
        server.stop()


def test_the_cli_prints_a_tasks_status_and_follows_its_events(
    relay: RelayServer, db, history
) -> None:
    task_id = str(6_100_000 + int(time.time()) % 100_000)
    insert_task(db, task_id, "Aborted", datetime.now(UTC) - timedelta(seconds=5))
    history(task_id, [("None", "Queued"), ("Queued", "Aborted")])
    status = CliRunner().invoke(cli, ["relay", "task", task_id, "--url", relay.url])
    assert status.exit_code == 0, status.output
    assert '"status": "Aborted"' in status.output
    events = CliRunner().invoke(cli, ["relay", "events", task_id, "--url", relay.url])
    assert events.exit_code == 0, events.output
    assert [line.split()[-1] for line in events.output.splitlines()] == ["Queued", "Aborted"]
