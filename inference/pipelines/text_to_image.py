"""An SD task, run: the base pipeline (with its ControlNet, VAE, LoRA, textual inversion and
scheduler), then the refiner, one call per image with one seeded generator.

As in Crynux, image i is the i-th call on a single CPU generator seeded with the task's seed,
so image 0 of a 4-image task is the image of the same task with num_images 1.

Steps:
1. Check that the models fit together (a refiner needs an SDXL base).
2. Compose the task's pipeline from warm components (`from_pipe` shares them, no copy).
3. For each image: the base (to latents when a refiner follows), then the refiner.
4. Pixels as uint8, the way diffusers turns them into PIL images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from diffusers import AutoencoderKL, ControlNetModel, DiffusionPipeline, UNet2DConditionModel
from numpy.typing import NDArray

from inference.errors import ArgsUnsupported
from inference.pipelines.control_image import control_image
from inference.pipelines.determinism import latent_generator
from inference.pipelines.schedulers import build_scheduler
from inference.pipelines.sd_adapters import WarmPipeline, textual_inversion, use_lora
from inference.pipelines.sd_family import SDXL_REFINER
from schemas.task_args import SDTaskArgs

PERCENT = 100


@dataclass(frozen=True)
class SDModels:
    """The loaded models a task uses, beside its base pipeline."""

    base: WarmPipeline
    unet: UNet2DConditionModel | None = None  # replaces the base's (e.g. an LCM UNet)
    vae: AutoencoderKL | None = None
    controlnet: ControlNetModel | None = None
    refiner: DiffusionPipeline | None = None
    lora: Path | None = None
    textual_inversion: Path | None = None


def generate(args: SDTaskArgs, models: SDModels) -> list[NDArray[np.uint8]]:
    family = models.base.family
    if models.refiner is not None and not family.takes_refiner:
        raise ArgsUnsupported(f"a refiner finishes SDXL latents; the base model is {family.name}")
    if models.unet is not None and models.lora is not None:
        raise ArgsUnsupported("a LoRA on a replacement UNet is not supported on this node")
    use_lora(models.base, models.lora, (args.lora.weight / PERCENT) if args.lora else 1.0)
    with textual_inversion(models.base, models.textual_inversion):
        pipeline = _compose(args, models)
        refiner = _compose_refiner(args, models)
        call = _call_args(args)
        generator = latent_generator(args.task_config.seed)
        images = []
        for _ in range(args.task_config.num_images):
            out = pipeline(**call, generator=generator).images
            if refiner is not None:
                assert args.refiner is not None
                out = refiner(
                    prompt=args.prompt,
                    negative_prompt=args.negative_prompt or None,
                    image=out,
                    num_inference_steps=args.refiner.steps,
                    denoising_start=args.refiner.denoising_cutoff / PERCENT,
                    guidance_scale=args.task_config.cfg,
                    generator=generator,
                    output_type="np",
                ).images
            images.append(to_uint8(out[0]))
        return images


def to_uint8(pixels: NDArray[Any]) -> NDArray[np.uint8]:
    """[0, 1] floats to bytes, exactly as diffusers' `numpy_to_pil` rounds them."""
    return (np.asarray(pixels) * 255).round().astype(np.uint8)


def _compose(args: SDTaskArgs, models: SDModels) -> DiffusionPipeline:
    base = models.base.pipeline
    family = models.base.family
    parts: dict[str, Any] = {
        "scheduler": build_scheduler(
            args.scheduler.method, base.scheduler.config, args.scheduler.args
        )
    }
    if models.vae is not None:
        parts["vae"] = models.vae
    if models.unet is not None:
        parts["unet"] = models.unet
    if family.has_safety_checker_slot and not args.task_config.safety_checker:
        parts.update(safety_checker=None, requires_safety_checker=False)
    cls = family.text_to_image
    if models.controlnet is not None:
        cls = family.controlnet
        parts["controlnet"] = models.controlnet
    # torch_dtype=None: from_pipe would otherwise cast the shared modules to float32 in place.
    pipeline = cls.from_pipe(base, torch_dtype=None, **parts)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _compose_refiner(args: SDTaskArgs, models: SDModels) -> DiffusionPipeline | None:
    if models.refiner is None:
        return None
    parts: dict[str, Any] = {
        "scheduler": build_scheduler(
            args.scheduler.method, models.refiner.scheduler.config, args.scheduler.args
        )
    }
    if models.vae is not None:
        parts["vae"] = models.vae  # the refiner decodes the final image
    refiner = SDXL_REFINER.from_pipe(models.refiner, torch_dtype=None, **parts)
    refiner.set_progress_bar_config(disable=True)
    return refiner


def _call_args(args: SDTaskArgs) -> dict[str, Any]:
    config = args.task_config
    call: dict[str, Any] = {
        "prompt": args.prompt,
        # None, not "": SDXL then uses zeros for the negative embedding, as it was trained to.
        "negative_prompt": args.negative_prompt or None,
        "width": config.image_width,
        "height": config.image_height,
        "num_inference_steps": config.steps,
        "guidance_scale": config.cfg,
        "num_images_per_prompt": 1,
        "output_type": "np",
    }
    if args.controlnet is not None:
        call["image"] = control_image(args.controlnet.image_dataurl, args.controlnet.preprocess)
        call["controlnet_conditioning_scale"] = args.controlnet.weight / PERCENT
    if args.refiner is not None:
        call["output_type"] = "latent"
        call["denoising_end"] = args.refiner.denoising_cutoff / PERCENT
    return call
