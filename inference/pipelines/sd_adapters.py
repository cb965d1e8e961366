"""LoRA and textual inversion on a warm base pipeline, without reloading the base.

LoRAs stay loaded as named peft adapters (the few used most recently): a task with a LoRA
activates its adapter at the task's weight, a task without one disables them all, and the
base weights are never changed (no fusing), so a task after a LoRA task gets the same image
as on a fresh pipeline. A textual inversion adds a token to the tokenizer and a row to the
text encoder's embeddings for one task and is removed afterwards.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from diffusers import DiffusionPipeline

from inference.errors import ArgsUnsupported
from inference.pipelines.sd_family import SDFamily

log = logging.getLogger(__name__)

MAX_WARM_LORAS = 4
STANDARD_LORA_FILE = "pytorch_lora_weights.safetensors"


@dataclass
class WarmPipeline:
    """A loaded base pipeline with the LoRA adapters loaded into it, oldest first."""

    pipeline: DiffusionPipeline
    family: SDFamily
    loras: OrderedDict[str, None] = field(default_factory=OrderedDict)


def use_lora(warm: WarmPipeline, weights: Path | None, scale: float) -> None:
    """Make `weights` (a LoRA file or folder) the only active adapter at `scale`; None
    disables every adapter."""
    pipeline = warm.pipeline
    if weights is None:
        if warm.loras:
            pipeline.disable_lora()
        return
    name = "lora_" + hashlib.sha256(str(weights.resolve()).encode()).hexdigest()[:16]
    if name in warm.loras:
        warm.loras.move_to_end(name)
    else:
        if len(warm.loras) >= MAX_WARM_LORAS:
            oldest, _ = warm.loras.popitem(last=False)
            pipeline.delete_adapters(oldest)
        file = weights if weights.is_file() else _lora_file(weights)
        try:
            pipeline.load_lora_weights(str(file.parent), weight_name=file.name, adapter_name=name)
        except (ValueError, RuntimeError, KeyError, OSError) as exc:
            raise ArgsUnsupported(
                f"LoRA {weights.name} does not fit this base model: {exc}"
            ) from exc
        warm.loras[name] = None
        log.info("LoRA loaded adapter=%s path=%s", name, weights)
    pipeline.enable_lora()
    pipeline.set_adapters([name], adapter_weights=[scale])


def _lora_file(folder: Path) -> Path:
    """The weights file of a LoRA folder: diffusers' standard name, or its only safetensors."""
    standard = folder / STANDARD_LORA_FILE
    if standard.is_file():
        return standard
    candidates = sorted(folder.glob("*.safetensors"))
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise ArgsUnsupported(
            f"LoRA folder {folder.name} holds {len(candidates)} safetensors files ({found}); "
            "the task must name one in lora.weight_file_name"
        )
    return candidates[0]


@contextmanager
def textual_inversion(warm: WarmPipeline, embedding: Path | None) -> Iterator[None]:
    """The pipeline with `embedding`'s token loaded, for the duration of the block."""
    if embedding is None:
        yield
        return
    if not warm.family.textual_inversion:
        raise ArgsUnsupported(
            f"textual inversion is not supported for {warm.family.name} base models on this node"
        )
    pipeline = warm.pipeline
    try:
        pipeline.load_textual_inversion(str(embedding))
    except (ValueError, RuntimeError, KeyError, OSError) as exc:
        raise ArgsUnsupported(f"textual inversion {embedding.name} does not fit: {exc}") from exc
    try:
        yield
    finally:
        pipeline.unload_textual_inversion()
