"""Models from the local paths the model store found, on the device, in the task's dtype.

Only safetensors weights are read (`use_safetensors=True`): a pickle file can run code when
loaded, and task arguments come from strangers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    ControlNetModel,
    DiffusionPipeline,
    ModelMixin,
    UNet2DConditionModel,
)
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from inference.errors import ArgsUnsupported


def load_pipeline(
    path: Path, dtype: torch.dtype, device: torch.device, variant: str | None
) -> DiffusionPipeline:
    if path.is_file():
        raise ArgsUnsupported(
            f"{path.name} is a single-file checkpoint; this node loads diffusers folders "
            "(model_index.json) only"
        )
    pipeline = DiffusionPipeline.from_pretrained(
        path, torch_dtype=dtype, variant=variant, use_safetensors=True, local_files_only=True
    )
    pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def load_vae(path: Path, dtype: torch.dtype, device: torch.device) -> AutoencoderKL:
    return _component(AutoencoderKL, path, "vae", dtype, device)  # type: ignore[return-value]


def load_controlnet(
    path: Path, dtype: torch.dtype, device: torch.device, variant: str | None
) -> ControlNetModel:
    return _component(ControlNetModel, path, "controlnet", dtype, device, variant)  # type: ignore[return-value]


def _component(
    cls: type[ModelMixin],
    path: Path,
    subfolder: str,
    dtype: torch.dtype,
    device: torch.device,
    variant: str | None = None,
) -> ModelMixin:
    # A task may name a whole pipeline repo for its VAE; the model is then in a subfolder.
    kwargs: dict[str, Any] = {}
    if not (path / "config.json").exists() and (path / subfolder / "config.json").exists():
        kwargs["subfolder"] = subfolder
    model = cls.from_pretrained(
        path,
        torch_dtype=dtype,
        variant=variant,
        use_safetensors=True,
        local_files_only=True,
        **kwargs,
    )
    return model.to(device).eval()  # type: ignore[no-any-return]


def load_causal_lm(
    path: Path, dtype: torch.dtype, device: torch.device
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype, use_safetensors=True, local_files_only=True
    )
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model.to(device).eval(), tokenizer


def model_dtype_of(path: Path) -> torch.dtype | None:
    """The dtype an LLM's config says it was saved in, if it says."""
    from transformers import AutoConfig  # noqa: PLC0415

    config = AutoConfig.from_pretrained(path, local_files_only=True)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) else None


def bytes_held(value: object) -> int:
    """What a loaded model, pipeline or (model, tokenizer) pair occupies, for the warm cache."""
    modules: list[torch.nn.Module] = []
    if isinstance(value, torch.nn.Module):
        modules.append(value)
    elif isinstance(value, DiffusionPipeline):
        modules += [c for c in value.components.values() if isinstance(c, torch.nn.Module)]
    elif isinstance(value, tuple):
        modules += [c for c in value if isinstance(c, torch.nn.Module)]
    seen: set[int] = set()
    total = 0
    for module in modules:
        for tensor in (*module.parameters(), *module.buffers()):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
    return total


def load_unet(path: Path, dtype: torch.dtype, device: torch.device) -> UNet2DConditionModel:
    return _component(UNet2DConditionModel, path, "unet", dtype, device)  # type: ignore[return-value]
