"""What makes three honest nodes draw the same images: torch settings, dtype, generator.

- Latents come from a CPU generator seeded with the task's seed, so they are the same numbers
  on every device (a CUDA generator's stream differs from the CPU's).
- float32 matmuls in full IEEE precision (no TF32), cuDNN without autotuning (its choice of
  kernel can differ between runs), deterministic algorithms where torch has them.
- The dtype "auto" resolves the same way on every node of a kind (float16 on a GPU), and the
  dtype actually used is reported with the result.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

CUBLAS_WORKSPACE = ":16:8"

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def make_deterministic() -> None:
    """Process-wide settings; call once, before CUDA is first used (cuBLAS reads its
    workspace setting when it starts)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    # warn_only: an op without a deterministic kernel (rare in inference) logs a warning
    # instead of failing the task; the p-hash threshold absorbs what such an op could change.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def seed_everything(seed: int) -> None:
    """Seed every global generator a model might draw from (LLM sampling draws from torch's)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def latent_generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def execution_dtype(
    requested: str, device: torch.device, model_dtype: torch.dtype | None = None
) -> torch.dtype:
    """The dtype a task asking for `requested` runs in on `device`.

    "auto" is the model's own dtype on a GPU (float16 when it does not say), float32 on a
    CPU. On a CPU, float16 runs as float32: many CPU kernels lack half precision, and the
    result is closer to a GPU's float16 than a CPU's emulated one would be.
    """
    if requested not in (*_DTYPES, "auto"):
        raise ValueError(
            f"dtype must be one of float16, bfloat16, float32, auto; got {requested!r}"
        )
    if device.type == "cpu":
        return torch.bfloat16 if requested == "bfloat16" else torch.float32
    if requested == "auto":
        return model_dtype if model_dtype in (torch.float16, torch.bfloat16) else torch.float16
    return _DTYPES[requested]


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
