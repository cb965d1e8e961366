"""Every per-model quirk of the SD families we run, in one frozen table.

A base model's family comes from the pipeline class its `model_index.json` names (and, for SD
1.x against 2.x, from the UNet's text width). Code elsewhere asks the family what to do and
never tests a model name or class itself, so a new family is one new row.
"""

from __future__ import annotations

from dataclasses import dataclass

from diffusers import (
    DiffusionPipeline,
    StableDiffusionControlNetPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLControlNetPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLPipeline,
)

from inference.errors import ArgsUnsupported


@dataclass(frozen=True)
class SDFamily:
    name: str
    text_to_image: type[DiffusionPipeline]
    controlnet: type[DiffusionPipeline]
    native_side: int  # the image side it was trained at (informational: tasks choose)
    takes_refiner: bool  # an SDXL refiner can finish its latents
    textual_inversion: bool  # a single-vector embedding file fits its one text encoder
    has_safety_checker_slot: bool  # the pipeline takes a safety checker at all
    notes: str


SD1 = SDFamily(
    name="sd1",
    text_to_image=StableDiffusionPipeline,
    controlnet=StableDiffusionControlNetPipeline,
    native_side=512,
    takes_refiner=False,
    textual_inversion=True,
    has_safety_checker_slot=True,
    notes="CLIP ViT-L text encoder (768 wide); epsilon prediction.",
)
SD2 = SDFamily(
    name="sd2",
    text_to_image=StableDiffusionPipeline,
    controlnet=StableDiffusionControlNetPipeline,
    native_side=768,
    takes_refiner=False,
    textual_inversion=True,
    has_safety_checker_slot=True,
    notes=(
        "OpenCLIP ViT-H text encoder (1024 wide); the 768 models predict v, which the "
        "scheduler must keep (from_config carries prediction_type over); attention is "
        "upcast in float16 (upcast_attention in the UNet config) or it overflows."
    ),
)
SDXL = SDFamily(
    name="sdxl",
    text_to_image=StableDiffusionXLPipeline,
    controlnet=StableDiffusionXLControlNetPipeline,
    native_side=1024,
    takes_refiner=True,
    textual_inversion=False,
    has_safety_checker_slot=False,
    notes=(
        "Two text encoders (their embeddings are concatenated) and size/crop conditioning; "
        "its VAE overflows in float16, so diffusers decodes in float32 when the VAE config "
        "says force_upcast; a textual inversion needs one vector per encoder (not supported); "
        "turbo variants want cfg 0 and few steps, which the task sets."
    ),
)
SDXL_REFINER = StableDiffusionXLImg2ImgPipeline
"""A refiner is an SDXL img2img pipeline with only the second text encoder; it is never a base."""

FAMILIES = (SD1, SD2, SDXL)
_SD2_TEXT_WIDTH = 1024


def family_of(pipeline: DiffusionPipeline) -> SDFamily:
    """The family of a loaded base pipeline; ArgsUnsupported for any other pipeline."""
    if isinstance(pipeline, StableDiffusionXLPipeline):
        return SDXL
    if isinstance(pipeline, StableDiffusionPipeline):
        width = pipeline.unet.config.cross_attention_dim
        return SD2 if width == _SD2_TEXT_WIDTH else SD1
    raise ArgsUnsupported(
        f"base model is a {type(pipeline).__name__}; this node runs text-to-image "
        f"{', '.join(f.name for f in FAMILIES)} pipelines"
    )
