"""Tiny models built once per session (no hub), and one warm engine over them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inference.engine import Engine
from inference.model_store import ModelStore
from inference.outputs import ImagesOutput, TextOutput
from inference.pipelines.determinism import make_deterministic
from inference.tiny_models import make_tiny
from schemas.phash import phash
from schemas.task_args import TaskKind, parse_task_args

SIDE = 64


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-models")
    make_tiny(root)
    return root


@pytest.fixture(scope="session")
def engine(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    import torch  # noqa: PLC0415
    from diffusers.utils import logging as diffusers_logging  # noqa: PLC0415

    diffusers_logging.disable_progress_bar()
    make_deterministic()
    store = ModelStore(
        model_dirs=(tiny_models_dir,),
        download_dir=tmp_path_factory.mktemp("downloads"),
        offline=True,
        hub_cache_dir=tmp_path_factory.mktemp("hf-cache"),
    )
    yield Engine(store, device=torch.device("cpu"), cache_budget_bytes=1 << 30)


def sd_args(**fields: Any) -> dict[str, Any]:
    """A small, fast SD task on the tiny SD 1.5 model; `fields` replace or extend it."""
    config = {
        "image_width": SIDE,
        "image_height": SIDE,
        "steps": 2,
        "num_images": 1,
        "seed": 1,
        "cfg": 12,
    }
    config.update(fields.pop("task_config", {}))
    return {
        "base_model": "tiny-sd15",
        "prompt": "a red fox in the snow",
        "task_config": config,
        **fields,
    }


def llm_args(**fields: Any) -> dict[str, Any]:
    return {
        "model": "tiny-gpt2",
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
        "generation_config": {"max_new_tokens": 8},
        **fields,
    }


@pytest.fixture
def run_sd(engine: Engine) -> Callable[..., list[bytes]]:
    def run(**fields: Any) -> list[bytes]:
        output = engine.run(parse_task_args(TaskKind.SD, json.dumps(sd_args(**fields)).encode()))
        assert isinstance(output, ImagesOutput)
        return [phash(image) for image in output.images]

    return run


@pytest.fixture
def run_llm(engine: Engine) -> Callable[..., dict[str, Any]]:
    def run(**fields: Any) -> dict[str, Any]:
        output = engine.run(parse_task_args(TaskKind.LLM, json.dumps(llm_args(**fields)).encode()))
        assert isinstance(output, TextOutput)
        return json.loads(output.document)  # type: ignore[no-any-return]

    return run
