"""What `hydrogen demo` needs besides the commands it runs: the shape of its task, where a real
model goes so that the devnet's nodes find it, and where a task's history can be read again
(the Postgres projection, the Kafka topics keyed by task id).

The devnet's GPU consumer looks a task's `base_model` up under its model directory first
(`inference/model_store.py`), so a model of this machine is linked there under the name the
task gives: a diffusers folder as `local/<folder name>`, a Hugging Face id from the local
cache under the id itself. The task can then name the model exactly as a Crynux task would.
"""

from __future__ import annotations

import os
import re
import shlex
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.catalog import TOPICS, Cleanup, Topic

PIPELINE_INDEX = "model_index.json"  # what makes a folder a diffusers pipeline
LOCAL_PREFIX = "local"
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


class DemoError(Exception):
    """Something the demo cannot do, said with the value that stopped it."""


@dataclass(frozen=True)
class TaskShape:
    """Size, steps and image count of the demo's text-to-image task."""

    width: int
    height: int
    steps: int
    num_images: int

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


# The tiny random SD 1.5 draws noise in a fraction of a second at 64x64; a real SD 1.5 is
# made for 512x512 and needs a few dozen steps to draw something.
TINY_TASK = TaskShape(64, 64, steps=4, num_images=2)
REAL_TASK = TaskShape(512, 512, steps=25, num_images=1)


@dataclass(frozen=True)
class LocalModel:
    """A Stable Diffusion pipeline of this machine, and the name a task gives it."""

    name: str  # the task's base_model
    source: Path  # the pipeline's folder

    @property
    def model_id(self) -> str:
        return f"base:{self.name}"


def find_model(spec: str) -> LocalModel:
    """The SD pipeline `spec` names: a diffusers folder (named `local/<folder name>`), or a
    Hugging Face id in the local cache (named by the id); DemoError if it is neither, or is
    no diffusers pipeline."""
    folder = Path(spec).expanduser()
    if folder.is_dir():
        model = LocalModel(f"{LOCAL_PREFIX}/{folder.resolve().name}", folder.resolve())
    elif _REPO_ID.fullmatch(spec):
        model = LocalModel(spec, _hub_snapshot(spec))
    else:
        raise DemoError(
            f"{spec!r} is neither a folder nor a Hugging Face id (owner/name) in the local cache"
        )
    if not (model.source / PIPELINE_INDEX).is_file():
        raise DemoError(
            f"{spec!r}: {model.source} is no diffusers pipeline (it has no {PIPELINE_INDEX}); "
            "give a Stable Diffusion 1.5 folder saved with save_pretrained"
        )
    return model


def link_model(model: LocalModel, models_dir: Path) -> Path:
    """Link `model` into `models_dir` under its name, replacing an older link of that name;
    the link's path."""
    link = models_dir / model.name
    _link(link, model.source)
    return link


def _hub_snapshot(repo_id: str) -> Path:
    """The folder of `repo_id`'s cached snapshot; DemoError if it is not cached. The hub is
    never asked: the devnet runs offline."""
    from huggingface_hub import constants, snapshot_download  # noqa: PLC0415 (--model only)
    from huggingface_hub.errors import LocalEntryNotFoundError  # noqa: PLC0415

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except LocalEntryNotFoundError as exc:
        raise DemoError(
            f"{repo_id!r} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}); "
            f"fetch it while online (`hydrogen models fetch {repo_id}`) or give its folder"
        ) from exc


def _link(link: Path, target: Path) -> None:
    if link.is_symlink():
        if link.resolve() == target:
            return
    elif link.exists():
        raise DemoError(f"{link} exists and is not a link the demo made; move it away first")
    link.parent.mkdir(parents=True, exist_ok=True)
    fresh = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    fresh.symlink_to(target, target_is_directory=True)
    os.replace(fresh, link)  # atomic: a consumer never sees the name missing


def declared_with(declared: Sequence[str], model_id: str) -> list[str] | None:
    """The model list a node must declare to hold `model_id` as well; None if it does."""
    return None if model_id in declared else [*declared, model_id]


# ---- the task's history ----

ENDED = frozenset({"Completed", "Aborted", "Cancelled"})

TASK_EVENTS_SQL = (
    "SELECT block_number AS block, log_index AS log, record_name AS event, block_time, "
    "tx_hash FROM task_events WHERE task_id = '{id}' ORDER BY kafka_offset"
)
TASK_ROW_SQL = (
    "SELECT task_id, status, task_type, cardinality(selected_nodes) AS nodes, result_node, "
    "created_at, ended_at FROM tasks WHERE task_id = '{id}'"
)


def psql_command(psql: str, dsn: str, task_id: int) -> str:
    """A command line that prints the task's projected events and its row."""
    queries = [q.format(id=int(task_id)) for q in (TASK_EVENTS_SQL, TASK_ROW_SQL)]
    # In double quotes, which read better than shlex's quoting of the SQL's single quotes;
    # the queries hold nothing a shell expands there.
    assert not any(c in q for q in queries for c in '"$`\\!')
    return " ".join([shlex.quote(psql), shlex.quote(dsn), *(f'-c "{q}"' for q in queries)])


def task_topics() -> tuple[Topic, ...]:
    """The topics whose messages are keyed by task id and kept as a log (not compacted
    snapshots, not dead letters), in the order a task goes through them."""
    return tuple(
        t
        for t in TOPICS
        if t.key == "task id" and t.cleanup is Cleanup.DELETE and not t.name.endswith(".dlq")
    )


@dataclass(frozen=True)
class TopicMessage:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    record_name: str
    record: Mapping[str, Any]


def read_task_messages(
    bootstrap: str, task_id: int, topics: Sequence[Topic], timeout_s: float = 20.0
) -> list[TopicMessage]:
    """Every committed message keyed by `task_id` on `topics`, decoded: the one partition of
    each topic that holds the key, read from its start to its end."""
    # Imported here: the Kafka client and the codec load slowly, and only this reader needs them.
    from confluent_kafka import Consumer, KafkaError, TopicPartition  # noqa: PLC0415

    from relay_api.partitioning import partition_of  # noqa: PLC0415
    from schemas.codec import Codec  # noqa: PLC0415
    from schemas.errors import DecodeError  # noqa: PLC0415

    key = str(task_id).encode()
    codec = Codec()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"hydrogen-demo-{uuid.uuid4().hex[:8]}",  # assign() only: never joins
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "log_level": 0,
        }
    )
    messages: list[TopicMessage] = []
    try:
        consumer.assign(
            [TopicPartition(t.name, partition_of(key, t.partitions), 0) for t in topics]
        )
        at_end: set[str] = set()
        deadline = datetime.now(UTC).timestamp() + timeout_s
        while len(at_end) < len(topics):
            if datetime.now(UTC).timestamp() > deadline:
                missing = ", ".join(t.name for t in topics if t.name not in at_end)
                raise DemoError(
                    f"Kafka at {bootstrap} did not answer for {missing} in {timeout_s:.0f}s"
                )
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(str(msg.topic()))
                    continue
                raise DemoError(f"reading {msg.topic()} from Kafka at {bootstrap}: {error.str()}")
            if msg.key() != key:
                continue
            try:
                name, record = codec.decode(msg.value() or b"")
            except DecodeError as exc:
                name, record = "(undecodable)", {"error": str(exc)}
            where = (str(msg.topic()), msg.partition() or 0, msg.offset() or 0)
            messages.append(TopicMessage(*where, msg.timestamp()[1], name, record))
    finally:
        consumer.close()
    return messages


# Fields every record of a kind carries, or that only a machine reads: left out of a line.
_QUIET_FIELDS = frozenset(
    {
        "event_id", "chain_id", "contract", "block_hash", "block_time", "log_index", "task_id",
        "job_id", "args_hash", "commitment", "seed", "timeouts", "blob_refs", "error_args_json",
        "observed_at", "requested_at", "finished_at", "changed_at", "deadline", "version",
        "commit_deadline", "disclose_deadline", "upload_deadline", "since_created_ms",
        "nonce", "gas_used", "signer", "reason",
    }
)  # fmt: skip
DETAIL_WIDTH = 110


def message_lines(messages: Sequence[TopicMessage], topics: Sequence[Topic]) -> list[str]:
    """The messages as one timeline, a line each: when, where, which record, what it says."""
    order = {t.name: i for i, t in enumerate(topics)}
    ordered = sorted(messages, key=lambda m: (m.timestamp_ms, order.get(m.topic, 0), m.offset))
    width = max((len(t.name) for t in topics), default=5)
    lines = [
        f"{'TIME (UTC)':<12}  {'TOPIC':<{width}}  {'P':>2} {'OFFSET':>6}  {'RECORD':<20} DETAIL"
    ]
    for m in ordered:
        when = datetime.fromtimestamp(m.timestamp_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:12]
        detail = describe_record(m.record)
        lines.append(
            f"{when:<12}  {m.topic:<{width}}  {m.partition:>2} {m.offset:>6}  "
            f"{m.record_name:<20} {detail}"
        )
    return lines


def describe_record(record: Mapping[str, Any]) -> str:
    """`field=value` pairs of what a record says, short values, at most DETAIL_WIDTH long."""
    parts = [
        f"{k}={_short(v)}"
        for k, v in record.items()
        if k not in _QUIET_FIELDS and v not in (None, "", [], {}, "NONE")
    ]
    text = " ".join(parts)
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"


_LONG_HEX = re.compile(r"0x[0-9a-fA-F]{36,}")  # addresses, tx hashes; not an image's p-hash


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        value = "0x" + value.hex()
    if isinstance(value, str):
        # Shortened, also inside ids such as a request id: enough to tell them apart.
        return _LONG_HEX.sub(lambda m: f"{m[0][:8]}…{m[0][-4:]}", value)
    if isinstance(value, list | tuple):
        return ",".join(_short(v) for v in value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
