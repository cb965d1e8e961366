"""Tiny models for tests and the demo, built locally (no hub) and written with
`save_pretrained`, so that a node loads them through the same code as a real checkpoint.

    make_tiny(root)      # writes every model below under root; `hydrogen models make-tiny DIR`

With `root` among the node's model directories, a task names them by folder:

    {"base_model": "tiny-sd15", "lora": {"model": "tiny-lora-sd15"}, ...}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SD15 = "tiny-sd15"
SDXL = "tiny-sdxl"
SDXL_REFINER = "tiny-sdxl-refiner"
VAE = "tiny-vae"
LORA = "tiny-lora-sd15"
CONTROLNET = "tiny-controlnet-sd15"
CONTROLNET_SDXL = "tiny-controlnet-sdxl"
TEXTUAL_INVERSION = "tiny-textual-inversion-sd15"
TEXTUAL_INVERSION_TOKEN = "<tiny-token>"  # noqa: S105 (a prompt word, not a secret)
LLM = "tiny-gpt2"

ALL = (SD15, SDXL, SDXL_REFINER, VAE, LORA, CONTROLNET, CONTROLNET_SDXL, TEXTUAL_INVERSION, LLM)
IMAGE_SIDE = 64
"""The tiny UNets are trained for nothing, but their sample size matches 64x64 images."""


@dataclass(frozen=True)
class TinyModel:
    name: str
    path: Path


def make_tiny(root: Path, *, overwrite: bool = False) -> list[TinyModel]:
    """Write every tiny model under `root`; one already there is kept unless `overwrite`."""
    # Imported here: torch and diffusers take seconds to import, and only this needs them.
    from inference.tiny_models import adapters, llm, sd  # noqa: PLC0415

    root.mkdir(parents=True, exist_ok=True)
    written: list[TinyModel] = []

    def wanted(name: str) -> Path | None:
        path = root / name
        written.append(TinyModel(name, path))
        if path.exists() and not overwrite:
            log.info("tiny model kept name=%s path=%s", name, path)
            return None
        log.info("writing tiny model name=%s path=%s", name, path)
        return path

    if path := wanted(SD15):
        sd.sd15_pipeline().save_pretrained(path)
    if path := wanted(SDXL):
        sd.sdxl_pipeline().save_pretrained(path)
    if path := wanted(SDXL_REFINER):
        sd.sdxl_refiner().save_pretrained(path)
    if path := wanted(VAE):
        sd.vae(seed=7).save_pretrained(path)
    if path := wanted(LORA):
        adapters.save_lora(sd.sd15_unet(), path)
    if path := wanted(CONTROLNET):
        sd.controlnet(sd.sd15_unet()).save_pretrained(path)
    if path := wanted(CONTROLNET_SDXL):
        sd.controlnet(sd.sdxl_unet()).save_pretrained(path)
    if path := wanted(TEXTUAL_INVERSION):
        adapters.save_textual_inversion(TEXTUAL_INVERSION_TOKEN, sd.TEXT_WIDTH, path)
    if path := wanted(LLM):
        model, tokenizer = llm.gpt2_chat()
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    return written
