"""Streams worker throughput: chain events/s through the task projection and the node saga,
against a bare confluent-kafka consume loop over the same topic, measured in the same run.

    .venv/bin/python bench/streams.py [--tasks N] [--ours K[,K...]] [--tuned NAME=VALUE ...]
        [--worker-env NAME=VALUE ...] [--loglevel L] [--worker-root DIR] [--no-ceiling]
        [--profile FILE]

1. Starts a Kafka broker of its own (a devnet folder in a temporary directory, free ports,
   the catalog's topics; nothing else of the devnet), so the catalog topics the worker reads
   hold only this run's events. It is stopped and deleted at the end.
2. Produces N tasks' lifecycles (default 5,000) to chain.task-events, Avro-encoded with
   `schemas.codec`, in chain order, 10 tasks created per block: TaskCreated, NodeSelected x3,
   TaskStarted (one tx), CommitmentSubmitted x3 (the third with DisclosureOpened),
   ResultDisclosed x3 (the third with TaskValidated), TaskCompleted: 14 events a task, each
   step one that `streams/domain/transitions.py` allows. A task's 3 nodes come from a pool of 30.
3. faust's ceiling: `bench/faust_ceiling.py`, agents that only decode each event, shaped like
   ours (2 agents on the topic), 1 agent, and 1 agent batching with `stream.take_events`.
4. One pass per K of --ours (default 0 and 6), then one more with the --tuned settings (default
   a producer linger of 100 ms): the bare loop (a fresh group reads every message, then again
   decoding each with `Codec.decode`), then `python -m hydrogen streams worker` with a fresh app
   id and the first K nodes of the pool as ours. The worker is done when tasks.snapshots and its
   `sagas` changelog each hold one message per event (every event changes both tables) and
   inference.jobs one job per (task, selected node of ours); the counts are polled every 0.2 s.
   Its rate counts from its first output to the last, so the seconds it takes to join its group
   do not count; its CPU time over the same span gives events per CPU-second as well.

Prints progress as it goes and a summary table: events/s of the bare loop and of the worker,
the ratio worker / bare read+decode, and the worker's events per CPU-second. The development
machine is shared: compare ratios and per-CPU-second figures, not absolute rates.
`--profile FILE` runs each worker under cProfile (FILE-0, FILE-1, ...) and prints its top
functions; `--worker-root DIR` runs the worker from another checkout, to measure a change.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named after the package it measures: put bench/ behind the installed packages,
# so that `import streams` anywhere finds the package, and bench's own modules still import.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.append(sys.path.pop(0))

import argparse
import os
import pstats
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from eth_utils import to_checksum_address
from task_stream import POOL, Stream, produce

from hydrogen.devnet.kafka import KafkaBroker
from hydrogen.devnet.layout import Layout, Ports
from schemas.catalog import (
    CHAIN_TASK_EVENTS,
    INFERENCE_JOBS,
    TASK_PARTITIONS,
    TASKS_HISTORY,
    TASKS_SNAPSHOTS,
)
from schemas.codec import Codec

REPO_ROOT = Path(__file__).resolve().parents[1]
KEEPER = to_checksum_address(f"0x{0x4EE9E4:040x}")


# ---- the bare loop ----


def bare_loop(bootstrap: str, events: int, decode: bool) -> float:
    """A fresh group reads chain.task-events from the start (and decodes each value);
    events/s from its first message to its last."""
    codec = Codec()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-bare-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_uncommitted",  # what the faust worker reads
        }
    )
    consumer.subscribe([CHAIN_TASK_EVENTS.name])
    seen, first, deadline = 0, 0.0, time.monotonic() + 120
    try:
        while seen < events:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bare loop read {seen} of {events} events in 120 s")
            # A short timeout: consume waits for a full batch, the last one would cost it all.
            for msg in consumer.consume(1000, timeout=0.05):
                if msg.error():
                    raise KafkaException(msg.error())
                if not seen:
                    first = time.perf_counter()
                if decode:
                    codec.decode(msg.value())
                seen += 1
        return (seen - 1) / (time.perf_counter() - first)
    finally:
        consumer.close()


# ---- the worker ----


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Counts:
    """Messages on the worker's output topics (sums of their partitions' end offsets)."""

    def __init__(self, bootstrap: str, topics: dict[str, str]) -> None:
        self.bootstrap = bootstrap
        self.admin = self._client()
        self.topics = topics  # label -> topic name

    def _client(self) -> AdminClient:
        # log_level 0: the broker stops while this client is still around.
        return AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})

    def read(self) -> dict[str, int]:
        out = {}
        for label, name in self.topics.items():
            spec = {TopicPartition(name, p): OffsetSpec.latest() for p in range(TASK_PARTITIONS)}
            try:
                found = self.admin.list_offsets(spec, request_timeout=10)
                out[label] = sum(f.result().offset for f in found.values())
            except KafkaException:
                # A changelog topic the worker has not created yet; once it has, a new client
                # sees it (the old one keeps the metadata of the missing topic).
                out[label] = 0
                self.admin = self._client()
        return out


@dataclass
class Pass:
    ours: int
    settings: str
    events: int
    jobs: int
    bare_read: float
    bare_decode: float
    startup_s: float = 0.0
    projection_s: float = 0.0
    worker_s: float = 0.0
    cpu_s: float = 0.0  # the worker's CPU time from its first output to the last
    found: dict[str, int] = field(default_factory=dict)

    @property
    def projection_rate(self) -> float:
        return self.events / self.projection_s if self.projection_s else 0.0

    @property
    def worker_rate(self) -> float:
        return self.events / self.worker_s if self.worker_s else 0.0

    @property
    def cpu_rate(self) -> float:
        """Events per CPU second of the worker: what one core would do if it were all its."""
        return self.events / self.cpu_s if self.cpu_s else 0.0


@dataclass(frozen=True)
class WorkerOptions:
    root: Path  # the checkout the worker runs from
    extra_env: dict[str, str]
    loglevel: str
    profile: Path | None  # where cProfile writes, or no profile
    stall_s: float


def spawn_worker(
    bootstrap: str, ours: int, workdir: Path, options: WorkerOptions
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """`python -m hydrogen streams worker` with a fresh app id: (process, app id, log file)."""
    app_id = f"bench-streams-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "HYDROGEN_STREAMS_KAFKA_BOOTSTRAP": bootstrap,
        "HYDROGEN_STREAMS_APP_ID": app_id,
        "HYDROGEN_STREAMS_NODE_ADDRESSES": ",".join(POOL[:ours]),
        "HYDROGEN_STREAMS_KEEPER_ADDRESS": KEEPER,
        "HYDROGEN_STREAMS_NONCE_SECRET": secrets.token_hex(16),
        "HYDROGEN_STREAMS_WEB_PORT": str(_free_port()),
        "HYDROGEN_STREAMS_DATA_DIR": str(workdir / app_id),
        **options.extra_env,
    }
    argv = [sys.executable]
    if options.profile is not None:
        argv += ["-m", "cProfile", "-o", str(options.profile)]
    argv += ["-m", "hydrogen", "streams", "worker", "-l", options.loglevel]
    log_file = workdir / f"{app_id}.log"
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=options.root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, app_id, log_file


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def run_worker(
    bootstrap: str, stream: Stream, result: Pass, workdir: Path, options: WorkerOptions
) -> None:
    """Start a worker; wait until it has processed every event; fill in `result`."""
    worker, app_id, log_file = spawn_worker(bootstrap, result.ours, workdir, options)
    spawned = time.perf_counter()
    try:
        # The changelog topics are named after the app id (streams/app.py, changelog_topics).
        counts = Counts(
            bootstrap,
            {
                "snapshots": TASKS_SNAPSHOTS.name,
                "history": TASKS_HISTORY.name,
                "sagas": f"{app_id}-sagas-changelog",
                "jobs": INFERENCE_JOBS.name,
                "dlq": CHAIN_TASK_EVENTS.dlq.name,
            },
        )
        before = counts.read()  # outputs of an earlier pass, on the shared catalog topics
        want = {"snapshots": stream.events, "sagas": stream.events, "jobs": result.jobs}
        first = projected = cpu_first = 0.0
        progress_at = last_change = spawned
        last: dict[str, int] = {}
        while True:
            time.sleep(0.2)
            now = time.perf_counter()
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited ({worker.returncode}):\n{_tail(log_file)}")
            found = {k: v - before.get(k, 0) for k, v in counts.read().items()}
            if found != last:
                last, last_change = found, now
            elif now - last_change > options.stall_s:
                raise RuntimeError(
                    f"no progress in {options.stall_s:.0f} s: {found}\n{_tail(log_file)}"
                )
            if not first and (found["snapshots"] or found["sagas"]):
                first, cpu_first = now, cpu_seconds(worker.pid)
                print(
                    f"  first output {now - spawned:.1f} s after the worker started",
                    flush=True,
                )
            if not projected and found["snapshots"] >= want["snapshots"]:
                projected = now
            if all(found[k] >= n for k, n in want.items()):
                break
            if now - progress_at >= 5:
                progress_at = now
                print(
                    f"  {now - spawned:5.0f} s  snapshots {found['snapshots']:>8,}"
                    f"  saga changes {found['sagas']:>8,}  jobs {found['jobs']:>7,}"
                    f"  / {stream.events:,}",
                    flush=True,
                )
        result.startup_s = first - spawned
        result.projection_s = projected - first
        result.worker_s = now - first
        result.cpu_s = cpu_seconds(worker.pid) - cpu_first
        result.found = found
    finally:
        stop(worker)


@dataclass(frozen=True)
class Ceiling:
    label: str
    agents: int
    take: int
    rate: float = 0.0
    cpu_rate: float = 0.0


def faust_ceiling(
    bootstrap: str, events: int, ceiling: Ceiling, workdir: Path, timeout_s: float
) -> Ceiling:
    """bench/faust_ceiling.py over the same topic: what faust itself costs."""
    argv = [sys.executable, str(Path(__file__).with_name("faust_ceiling.py"))]
    argv += ["--bootstrap", bootstrap, "--events", str(events)]
    argv += ["--agents", str(ceiling.agents), "--take", str(ceiling.take)]
    argv += ["--data-dir", str(workdir / f"ceiling-{ceiling.agents}-{ceiling.take}")]
    log_file = workdir / f"ceiling-{ceiling.agents}-{ceiling.take}.log"
    with log_file.open("wb") as err:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=err)
    watchdog = threading.Timer(timeout_s, process.kill)  # a stuck worker prints nothing
    watchdog.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:  # ends when the process does
            if line.startswith(b"done "):
                _, n, wall, cpu = line.split()
                return replace(ceiling, rate=int(n) / float(wall), cpu_rate=int(n) / float(cpu))
        raise RuntimeError(f"the faust ceiling exited ({process.wait()}):\n{_tail(log_file)}")
    finally:
        watchdog.cancel()
        stop(process)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far; 0 where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log_file: Path) -> str:
    return log_file.read_text(errors="replace")[-3000:]


def print_profile(path: Path, top: int) -> None:
    stats = pstats.Stats(str(path))
    stats.strip_dirs()
    for key in ("tottime", "cumulative"):
        print(f"\nworker profile, top {top} by {key}:")
        stats.sort_stats(key).print_stats(top)


# ---- the run ----


# The tuned pass: a producer that waits longer to fill its batches (see the module docstring).
TUNED = ["HYDROGEN_STREAMS_PRODUCER_LINGER_MS=100"]
CEILINGS = (
    Ceiling("2 agents, stream.events()", agents=2, take=0),  # the shape of ours
    Ceiling("1 agent, stream.events()", agents=1, take=0),
    Ceiling("1 agent, stream.take_events(1000)", agents=1, take=1000),
)


def start_kafka(root: Path) -> KafkaBroker:
    ports = Ports.free()
    kafka = KafkaBroker(Layout(root), ports.kafka, ports.kafka_controller)
    started = time.perf_counter()
    kafka.start()
    try:
        kafka.wait_healthy(90)
        kafka.prepare()  # the catalog's topics
    except BaseException:
        kafka.stop()
        raise
    print(f"kafka at {kafka.address} in {time.perf_counter() - started:.1f} s ({root})")
    return kafka


def summary(stream: Stream, passes: list[Pass], ceilings: list[Ceiling]) -> None:
    print(
        f"\n{stream.tasks:,} tasks, {stream.events:,} events on {TASK_PARTITIONS} partitions;"
        " rates in events/s; ratio = worker / bare read+decode"
    )
    head = (
        f"{'ours':>4}  {'settings':<24}  {'jobs':>6}  {'bare read':>10}  {'read+decode':>11}  {'projection':>10}"
        f"  {'worker':>8}  {'ratio':>6}  {'worker CPU':>10}  {'per CPU-s':>9}  {'startup':>7}"
    )
    print(head)
    print("-" * len(head))
    for p in passes:
        busy = p.cpu_s / p.worker_s if p.worker_s else 0.0
        print(
            f"{p.ours:>4}  {p.settings:<24}  {p.jobs:>6,}  {p.bare_read:>10,.0f}  {p.bare_decode:>11,.0f}"
            f"  {p.projection_rate:>10,.0f}  {p.worker_rate:>8,.0f}"
            f"  {p.worker_rate / p.bare_decode:>6.3f}  {busy:>9.0%}  {p.cpu_rate:>9,.0f}"
            f"  {p.startup_s:>6.1f}s"
        )
    print(
        "projection: first output to the last snapshot; worker: first output to the last"
        " snapshot, saga change and job;\nworker CPU: its CPU time over that wall time;"
        " per CPU-s: events per second of its CPU time (less noisy on a shared machine)"
    )
    if ceilings:
        print("\nfaust's ceiling (agents that only decode), events/s:")
        for c in ceilings:
            print(f"  {c.label:<34} {c.rate:>8,.0f}   per CPU-s {c.cpu_rate:>8,.0f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=5_000, help="tasks (14 events each)")
    parser.add_argument(
        "--ours",
        default="0,6",
        help="comma-separated: one worker pass per value, with that many of the 30 nodes ours",
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment of every worker pass (e.g. HYDROGEN_STREAMS_PRODUCER_LINGER_MS=20)",
    )
    parser.add_argument(
        "--tuned",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="one more pass (nodes as the last --ours) with these settings; default:"
        f" {' '.join(TUNED)}; --tuned '' for none",
    )
    parser.add_argument(
        "--worker-root",
        type=Path,
        default=REPO_ROOT,
        help="run the worker from this checkout (its `streams` package), e.g. to measure a change",
    )
    parser.add_argument(
        "--no-ceiling", action="store_true", help="skip the decode-only faust agents"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the worker logs (the folder is printed)",
    )
    parser.add_argument(
        "--loglevel",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="the worker's -l (info, its default, is what a deployment runs)",
    )
    parser.add_argument("--profile", type=Path, help="run the worker under cProfile, into FILE")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument(
        "--stall",
        type=float,
        default=120,
        help="give up after this long without progress (s)",
    )
    args = parser.parse_args()
    args.ours = [int(v) for v in args.ours.split(",") if v.strip()]
    if not args.ours or any(not 0 <= k <= len(POOL) for k in args.ours):
        parser.error(f"--ours wants values in 0..{len(POOL)}")
    args.worker_env = _assignments(parser, args.worker_env)
    args.tuned = _assignments(parser, TUNED if args.tuned is None else args.tuned)
    return args


def _assignments(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, str]:
    items = [kv for kv in items if kv]
    if bad := [kv for kv in items if "=" not in kv]:
        parser.error(f"NAME=VALUE expected, got {bad}")
    return dict(kv.split("=", 1) for kv in items)


def measure_ceilings(bootstrap: str, events: int, workdir: Path) -> list[Ceiling]:
    bare = bare_loop(bootstrap, events, decode=True)
    print(f"\nfaust's ceiling: agents that only decode (bare read+decode {bare:,.0f}/s)")
    found = []
    for ceiling in CEILINGS:
        c = faust_ceiling(bootstrap, events, ceiling, workdir, timeout_s=600)
        found.append(c)
        print(
            f"  {c.label}: {c.rate:,.0f}/s ({c.cpu_rate:,.0f} per CPU-second),"
            f" ratio {c.rate / bare:.3f}",
            flush=True,
        )
    return found


def measure_pass(
    bootstrap: str,
    stream: Stream,
    ours: int,
    settings: dict[str, str],
    workdir: Path,
    args: argparse.Namespace,
) -> Pass:
    label = " ".join(
        f"{k.removeprefix('HYDROGEN_STREAMS_').lower()}={v}" for k, v in settings.items()
    )
    print(f"\npass: {ours} of {len(POOL)} nodes ours, {label or 'default settings'}")
    bare_read = bare_loop(bootstrap, stream.events, decode=False)
    bare_decode = bare_loop(bootstrap, stream.events, decode=True)
    print(f"  bare loop: read {bare_read:,.0f}/s, read+decode {bare_decode:,.0f}/s")
    jobs = stream.jobs(frozenset(POOL[:ours]))
    result = Pass(ours, label or "-", stream.events, jobs, bare_read, bare_decode)
    profile = None
    if args.profile is not None:
        n = len(list(args.profile.parent.glob(f"{args.profile.stem}-*")))
        profile = args.profile.with_name(f"{args.profile.stem}-{n}{args.profile.suffix}")
    options = WorkerOptions(
        args.worker_root,
        {**args.worker_env, **settings},
        args.loglevel,
        profile,
        args.stall,
    )
    run_worker(bootstrap, stream, result, workdir, options)
    print(
        f"  worker: {result.worker_rate:,.0f}/s (projection {result.projection_rate:,.0f}/s,"
        f" {result.cpu_rate:,.0f} per CPU-second), ratio {result.worker_rate / bare_decode:.3f}"
    )
    print(f"  outputs: {result.found}")
    if profile is not None and profile.exists():  # written when the worker stops
        print(f"  profile: {profile}")
        print_profile(profile, args.profile_top)
    return result


def _interrupted(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so that the broker and the worker are stopped too


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    args = parse_args()
    stream = Stream(args.tasks, chain_id=70_000 + uuid.uuid4().int % 1_000_000)
    workdir = Path(tempfile.mkdtemp(prefix="hydrogen-bench-streams-"))
    passes: list[Pass] = []
    ceilings: list[Ceiling] = []
    kafka = start_kafka(workdir / "devnet")
    try:
        print(f"producing {stream.events:,} events of {stream.tasks:,} tasks")
        print(f"  {produce(kafka.address, stream):,.0f} events/s")
        if not args.no_ceiling:
            ceilings = measure_ceilings(kafka.address, stream.events, workdir)
        plan = [(k, {}) for k in args.ours] + ([(args.ours[-1], args.tuned)] if args.tuned else [])
        for ours, settings in plan:
            passes.append(measure_pass(kafka.address, stream, ours, settings, workdir, args))
    finally:
        kafka.stop()
        if args.keep:
            print(f"worker logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    summary(stream, passes, ceilings)


if __name__ == "__main__":
    main()
