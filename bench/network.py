"""The network's own overhead per task, and tasks per minute, on a devnet of real services.

    .venv/bin/python bench/network.py [--tasks 50] [--burst 20] [--keep DIR]

Starts a devnet of its own (a throwaway folder on free ports) running the whole network with
three staked nodes (`hydrogen devnet up --network`): Kafka, PostgreSQL, anvil at
confirmations 0, the bridge, the streams worker, the relay and the GPU consumer on the tiny
SD model. Then:

  - latency: --tasks tasks one after another (64x64, 2 steps, one image). For each, from the
    createTask transaction sent to the task's TaskCompleted readable on chain.task-events:
      end to end   what the app waits;
      GPU time     the consumer's own timings of the task's three jobs (inference.results,
                   everything but fetching the args and uploading the images); the devnet runs
                   one consumer for the three nodes, so its jobs run one after another and
                   their times add up;
      overhead     end to end minus GPU time: what the network adds (chain, bridge, streams,
                   relay, Kafka), p50 and p95, against the goal of a p50 under 1 s;
    and the overhead by phase, from the Kafka timestamps of the task's chain events (the GPU
    time taken out of the phase it happens in), with the slowest named;
  - throughput: --burst tasks created at once; tasks per minute until the last completes.

The baseline measured in the same run is the GPU time: the ratio printed is the overhead over
the work the nodes did.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from hydrogen.app.chain import AppChain
from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.layout import DevnetState, Layout, Ports
from hydrogen.devnet.supervisor import Devnet
from relay_api.client import RelayClient
from schemas.catalog import CHAIN_TASK_EVENTS, INFERENCE_RESULTS
from schemas.codec import Codec
from schemas.errors import DecodeError
from schemas.task_args import TaskKind, args_hash, model_ids_of, parse_task_args

REPO_ROOT = Path(__file__).resolve().parents[1]
FEE_WEI = 10**16
NODES = 3
GOAL_OVERHEAD_P50_S = 1.0
NOT_GPU = ("fetch", "upload", "total")  # the consumer's timings that are not the model's work
# Phases of a task, each from the first event of one name to the first of the next.
RUN_PHASE = "run + commit, less GPU"
PHASES = (
    ("queued", "TaskCreated", "TaskStarted"),
    (RUN_PHASE, "TaskStarted", "DisclosureOpened"),
    ("reveal", "DisclosureOpened", "TaskValidated"),
    ("deliver", "TaskValidated", "TaskCompleted"),
)


def task_args(seed: int) -> bytes:
    return json.dumps(
        {
            "base_model": "tiny-sd15",
            "prompt": "a lighthouse at dusk",
            "task_config": {
                "image_width": 64,
                "image_height": 64,
                "steps": 2,
                "num_images": 1,
                "seed": seed,
            },
        }
    ).encode()


def hydrogen(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "hydrogen", *args], cwd=REPO_ROOT, check=True, timeout=600
    )


@contextmanager
def network_devnet(keep: Path | None) -> Iterator[Path]:
    """A devnet of its own with the whole network, brought down (and deleted) at the end."""
    root = keep or REPO_ROOT / f".devnet-bench-{uuid.uuid4().hex[:8]}"
    if keep is None or Layout(root).read_state() is None:
        Layout(root).write_state(DevnetState(ports=Ports.free(), s3=False))
    try:
        hydrogen("devnet", "up", "--network", "--nodes", str(NODES), "--dir", str(root))
        yield root
    finally:
        if keep is None:
            subprocess.run(
                [sys.executable, "-m", "hydrogen", "devnet", "down", "--dir", str(root)],
                cwd=REPO_ROOT,
                check=False,
                timeout=120,
            )
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class Network:
    chain: AppChain
    relay: RelayClient
    bootstrap: str
    codec: Codec = field(default_factory=Codec)

    def create(self, seed: int) -> tuple[int, float]:
        """Create a task and put its args on the relay; (task id, when createTask was sent)."""
        raw = task_args(seed)
        parsed = parse_task_args(TaskKind("SD"), raw)
        sent = time.time()
        created = self.chain.create_task(
            TaskKind("SD"), args_hash(raw), model_ids_of(parsed), 0, FEE_WEI
        )
        self.relay.put_args(created.task_id, raw)
        return created.task_id, sent

    def wait_completed(self, task_ids: set[int], timeout_s: float) -> dict[int, dict[str, float]]:
        """Follow chain.task-events until every task in `task_ids` completed; return each
        task's first event of every name, at its Kafka timestamp (seconds)."""
        seen: dict[int, dict[str, float]] = defaultdict(dict)
        deadline = time.monotonic() + timeout_s
        for key, name, at in self._follow(CHAIN_TASK_EVENTS.name, deadline):
            task = int(key)
            if task in task_ids:
                seen[task].setdefault(name, at)
                if name in ("TaskAborted", "TaskCancelled"):
                    raise SystemExit(f"task {task} ended {name}: see the devnet's logs")
                if all("TaskCompleted" in seen[t] for t in task_ids):
                    return dict(seen)
        missing = sorted(t for t in task_ids if "TaskCompleted" not in seen[t])
        raise SystemExit(f"tasks {missing} not completed within {timeout_s:.0f}s")

    def gpu_seconds(self, task_ids: set[int]) -> dict[int, float]:
        """The consumer's model time per task: every job's timings but fetch and upload."""
        out: dict[int, float] = defaultdict(float)
        jobs: dict[int, int] = defaultdict(int)
        deadline = time.monotonic() + 30
        for _, record in self._records(INFERENCE_RESULTS.name, deadline):
            task = int(record["task_id"])
            if task in task_ids:
                timings = record["timings_ms"]
                out[task] += sum(v for k, v in timings.items() if k not in NOT_GPU) / 1000
                jobs[task] += 1
                if all(jobs[t] >= NODES for t in task_ids):
                    break
        return dict(out)

    def _records(self, topic: str, deadline: float) -> Iterator[tuple[bytes, dict[str, Any]]]:
        for msg in self._messages(topic, deadline):
            try:
                _, record = self.codec.decode(msg.value())
            except DecodeError:
                continue
            yield msg.key(), record

    def _follow(self, topic: str, deadline: float) -> Iterator[tuple[bytes, str, float]]:
        for msg in self._messages(topic, deadline):
            try:
                name, _ = self.codec.decode(msg.value())
            except DecodeError:
                continue
            yield msg.key(), name, msg.timestamp()[1] / 1000

    def _messages(self, topic: str, deadline: float) -> Iterator[Any]:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"bench-network-{uuid.uuid4().hex[:8]}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 20,
            }
        )
        try:
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
            while time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is not None and not msg.error():
                    yield msg
        finally:
            consumer.close()


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latency(net: Network, tasks: int) -> None:
    end_to_end, overhead, gpu_all = [], [], []
    phases: dict[str, list[float]] = defaultdict(list)
    for i in range(tasks):
        task_id, sent = net.create(seed=1_000 + i)
        events = net.wait_completed({task_id}, timeout_s=300)[task_id]
        gpu = net.gpu_seconds({task_id})[task_id]
        total = events["TaskCompleted"] - sent
        end_to_end.append(total)
        gpu_all.append(gpu)
        overhead.append(total - gpu)
        for name, start, end in PHASES:
            # The GPU works inside "run + commit": what the network adds there is the rest.
            spent = events[end] - events[start] - (gpu if name == RUN_PHASE else 0.0)
            phases[name].append(spent)
        print(
            f"  task {task_id:>3}: end to end {total * 1000:6.0f} ms, GPU {gpu * 1000:5.0f} ms, "
            f"overhead {(total - gpu) * 1000:6.0f} ms",
            flush=True,
        )
    p50, p95 = statistics.median(overhead), percentile(overhead, 95)
    print(f"\nlatency over {tasks} tasks, one at a time (confirmations 0):")
    print(
        f"  end to end  p50 {statistics.median(end_to_end) * 1000:6.0f} ms   "
        f"p95 {percentile(end_to_end, 95) * 1000:6.0f} ms"
    )
    print(
        f"  GPU time    p50 {statistics.median(gpu_all) * 1000:6.0f} ms   "
        f"p95 {percentile(gpu_all, 95) * 1000:6.0f} ms   (the baseline)"
    )
    print(f"  overhead    p50 {p50 * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms")
    print(f"  ratio overhead / GPU time (p50): {p50 / statistics.median(gpu_all):.2f}")
    verdict = "met" if p50 < GOAL_OVERHEAD_P50_S else "NOT met"
    print(f"  goal: overhead p50 under {GOAL_OVERHEAD_P50_S:.0f} s: {verdict}")
    print("  overhead by phase (p50, Kafka timestamps of the chain events):")
    medians = {name: statistics.median(v) for name, v in phases.items()}
    for name, value in medians.items():
        print(f"    {name:<23} {value * 1000:6.0f} ms")
    print(f"  slowest phase: {max(medians, key=medians.__getitem__)}")


def throughput(net: Network, burst: int) -> None:
    started = time.time()
    created = {net.create(seed=5_000 + i)[0] for i in range(burst)}
    events = net.wait_completed(created, timeout_s=60 + burst * 30)
    elapsed = max(e["TaskCompleted"] for e in events.values()) - started
    print(f"\nthroughput: {burst} tasks created at once, the last completed after {elapsed:.1f} s")
    print(f"  {burst / elapsed * 60:.1f} tasks per minute ({NODES} nodes, one consumer)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=50, help="tasks for the latency figures")
    parser.add_argument("--burst", type=int, default=20, help="tasks for the throughput")
    parser.add_argument(
        "--keep", type=Path, help="use (and leave running) this devnet folder instead"
    )
    args = parser.parse_args()
    if args.tasks < 2:
        parser.error(f"--tasks {args.tasks}: at least 2, for a p95")

    with network_devnet(args.keep) as root:
        net_info = Devnet.open(root)
        deployment = json.loads(Layout(root).deployment_file.read_text())
        app = devnet_account(Role.APP)
        chain = AppChain.connect(deployment["rpcUrl"], deployment, app)
        with RelayClient(net_info.relay.address, private_key=app.key) as relay:
            net = Network(chain, relay, net_info.kafka.address)
            print("warming up (the consumer loads the model on its first job)", flush=True)
            warm, _ = net.create(seed=1)
            net.wait_completed({warm}, timeout_s=300)
            latency(net, args.tasks)
            throughput(net, args.burst)


if __name__ == "__main__":
    main()
