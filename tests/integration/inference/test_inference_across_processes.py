"""Two processes, the same job: the same p-hashes and the same LLM result, bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from inference.job_runner import result_of
from inference.outputs import EngineOutput
from schemas.task_args import parse_task_args

SD = {"base_model": "tiny-sd15", "prompt": "a fox", "lora": {"model": "tiny-lora-sd15", "weight": 70},
      "task_config": {"image_width": 64, "image_height": 64, "steps": 2, "num_images": 2, "seed": 9}}  # fmt: skip
LLM = {"model": "tiny-gpt2", "messages": [{"role": "user", "content": "hi"}], "seed": 4,
       "generation_config": {"max_new_tokens": 6, "do_sample": True}}  # fmt: skip

CHILD = """
import json, sys
from pathlib import Path
import torch
from inference.engine import Engine
from inference.job_runner import result_of
from inference.model_store import ModelStore
from inference.pipelines.determinism import make_deterministic
from schemas.task_args import parse_task_args
make_deterministic()
store = ModelStore(model_dirs=(Path(sys.argv[1]),), download_dir=Path(sys.argv[2]), offline=True)
engine = Engine(store, device=torch.device("cpu"), cache_budget_bytes=1 << 30)
for kind, args in json.loads(sys.argv[3]):
    print(result_of(engine.run(parse_task_args(kind, json.dumps(args).encode()))).hex())
"""


def test_another_process_computes_the_same_results(
    engine, tiny_models_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    jobs = [("SD", SD), ("LLM", LLM)]
    here = [result_of(_run(engine, kind, args)).hex() for kind, args in jobs]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tiny_models_dir), str(tmp_path), json.dumps(jobs)],
        capture_output=True, text=True, timeout=240, check=True,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert child.stdout.split() == here
    assert len(bytes.fromhex(here[0])) == 16  # two images, 8 bytes each


def _run(engine, kind: str, args: dict) -> EngineOutput:  # type: ignore[no-untyped-def]
    return engine.run(parse_task_args(kind, json.dumps(args).encode()))  # type: ignore[no-any-return]
