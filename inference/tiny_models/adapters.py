"""A tiny LoRA and a tiny textual-inversion embedding, for the tiny SD 1.5 pipeline."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

LORA_FILE = "pytorch_lora_weights.safetensors"
TEXTUAL_INVERSION_FILE = "learned_embeds.safetensors"
LORA_GAIN = 4.0


def save_lora(unet: UNet2DConditionModel, folder: Path, seed: int = 4) -> Path:
    """A rank-4 LoRA on the attention projections of `unet` (which it leaves untouched),
    in diffusers' format. Both LoRA matrices are random: peft's default makes one of them
    zero, and such a LoRA changes nothing."""
    torch.manual_seed(seed)
    config = LoraConfig(
        r=4,
        lora_alpha=4,
        init_lora_weights=False,
        target_modules=["to_q", "to_k", "to_v", "to_out.0"],
    )
    host = UNet2DConditionModel.from_config(unet.config)
    host.load_state_dict(unet.state_dict())
    host.add_adapter(config)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(host))
    # peft's random init is small; a LoRA that a test must see wants a larger update.
    layers = {
        k: v * LORA_GAIN if "lora.up." in k or "lora_B" in k else v for k, v in layers.items()
    }
    StableDiffusionPipeline.save_lora_weights(
        folder, unet_lora_layers=layers, weight_name=LORA_FILE, safe_serialization=True
    )
    return folder / LORA_FILE


def save_textual_inversion(token: str, width: int, folder: Path, seed: int = 5) -> Path:
    """One learned token, `{token: vector}` (diffusers' format), with a vector far from the
    random vocabulary's so that the image changes visibly."""
    generator = torch.Generator().manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TEXTUAL_INVERSION_FILE
    save_file({token: torch.randn(width, generator=generator) * 4}, str(path))
    return path
