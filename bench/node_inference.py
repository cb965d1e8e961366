"""The consumer's cost over bare diffusers, warm vs. cold, and the p-hash per image.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/node_inference.py [--models DIR] [--rounds R] [--steps N]

On the tiny SD 1.5 model (built into DIR if missing), in one run: the median time of a job
through `JobRunner` (argument check and parsing, engine, p-hash, PNG, staging into memory)
against a bare diffusers call with the same arguments on the same pipeline; the first (cold,
loading) task against the second (warm); and the p-hash of one image. Medians of R rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from inference.engine import Engine
from inference.job import Job
from inference.job_runner import JobRunner
from inference.model_store import ModelStore
from inference.pipelines.determinism import latent_generator, make_deterministic
from inference.tiny_models import SD15, make_tiny
from schemas.phash import phash
from schemas.task_args import TaskKind, args_hash


class MemoryRelay:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def fetch_args(self, task_id: str, node: str) -> bytes:
        return self.raw

    def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--models", type=Path, default=Path(tempfile.gettempdir()) / "hydrogen-tiny-models"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--side", type=int, default=64)
    opts = parser.parse_args()

    from diffusers.utils import logging as diffusers_logging  # noqa: PLC0415

    diffusers_logging.disable_progress_bar()
    make_tiny(opts.models)
    make_deterministic()
    args = {"base_model": SD15, "prompt": "a red fox in the snow",
            "task_config": {"image_width": opts.side, "image_height": opts.side,
                            "steps": opts.steps, "num_images": 1, "seed": 1, "cfg": 7}}  # fmt: skip
    raw = json.dumps(args).encode()
    store = ModelStore(
        model_dirs=(opts.models,), download_dir=opts.models / "downloads", offline=True
    )
    engine = Engine(store, device=torch.device("cpu"), cache_budget_bytes=1 << 30)
    relay = MemoryRelay(raw)
    runner = JobRunner(relay, relay, engine)
    job = Job("1:1:0x0:infer", 1, "1", "0x0", TaskKind.SD, args_hash(raw), (), 2**62, 0)

    cold_start = time.perf_counter()
    runner.run(job)
    cold = time.perf_counter() - cold_start

    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline  # noqa: PLC0415

    base = StableDiffusionPipeline.from_pretrained(opts.models / SD15, local_files_only=True)
    base.set_progress_bar_config(disable=True)

    def bare() -> None:
        base.scheduler = DPMSolverMultistepScheduler.from_config(base.scheduler.config)
        base(prompt=args["prompt"], width=opts.side, height=opts.side, num_inference_steps=opts.steps,
             guidance_scale=7, generator=latent_generator(1), output_type="np")  # fmt: skip

    ours, theirs = [], []
    for _ in range(opts.rounds):  # interleaved, so that the machine's noise hits both alike
        t = time.perf_counter()
        runner.run(job)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare()
        theirs.append(time.perf_counter() - t)
    image = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    hashes = []
    for _ in range(20):
        t = time.perf_counter()
        phash(image)
        hashes.append(time.perf_counter() - t)

    warm, bare_s = statistics.median(ours), statistics.median(theirs)
    print(
        f"device: cpu, tiny SD 1.5, {opts.side}x{opts.side}, {opts.steps} steps, {opts.rounds} rounds"
    )
    print(f"job through the consumer (warm): {warm * 1000:8.1f} ms")
    print(
        f"bare diffusers call:             {bare_s * 1000:8.1f} ms   overhead {100 * (warm / bare_s - 1):+.1f}%"
    )
    print(f"first (cold) job:                {cold * 1000:8.1f} ms   cold/warm {cold / warm:.1f}x")
    print(f"p-hash of one 512x512 image:     {statistics.median(hashes) * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
