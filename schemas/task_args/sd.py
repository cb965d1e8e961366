"""Stable Diffusion task arguments: the Crynux inference-task format (sd_task
task_args/inference_task/task_args.py, versions 1.0.0 to 3.0.0).

    {"version": "2.5.0", "base_model": "crynux-network/stable-diffusion-v1-5",
     "prompt": "a red fox in the snow", "task_config": {"steps": 20, "num_images": 4}}

What we add to Crynux's rules, each to refuse before any node is paid a task that cannot run:
unknown fields are errors (see `StrictModel`), the image side is a multiple of 8 and at most
2048, a ControlNet carries an image data URL, and scheduler/preprocessor arguments are names
the method takes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from schemas.task_args.fields import Dtype, NonEmptyStr, OptionalModelId, Percent, StrictModel
from schemas.task_args.sd_controlnet import ControlNet
from schemas.task_args.sd_scheduler import Scheduler

SDVersion = Literal["1.0.0", "2.0.0", "2.1.0", "2.5.0", "3.0.0"]

MAX_IMAGE_SIDE = 2048
"""Crynux sets no bound; ours keeps one task from asking a node for a 100k x 100k image."""

SEED_LIMIT = 2**31
"""Seeds are below 2^31, as in Crynux: a seed every generator and every language can hold."""


class BaseModelRef(StrictModel):
    """The pipeline's model: an HF id, a URL or a local path, and an optional variant."""

    name: NonEmptyStr
    variant: str | None = None


def _name_as_ref(value: object) -> object:
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict | BaseModelRef):
        return value
    raise ValueError("must be a model id string or an object {name, variant}")


class TaskConfig(StrictModel):
    # Sides are multiples of 8: the VAE maps every 8x8 block of pixels to one latent, and
    # other sizes are cropped or fail inside the pipeline.
    image_width: int = Field(default=512, gt=0, le=MAX_IMAGE_SIDE, multiple_of=8)
    image_height: int = Field(default=512, gt=0, le=MAX_IMAGE_SIDE, multiple_of=8)
    steps: int = Field(default=1, ge=1, le=100)
    seed: int = Field(default=0, ge=0, lt=SEED_LIMIT)
    num_images: int = Field(default=6, ge=1, le=10)
    safety_checker: bool = True
    cfg: float = Field(default=5.0, ge=0, le=20, allow_inf_nan=False)


class Lora(StrictModel):
    model: NonEmptyStr = Field(description="An HF id or a Civitai URL.")
    weight_file_name: OptionalModelId = None
    weight: Percent = 100


class Refiner(StrictModel):
    """An SDXL refiner run after the base model for the last steps of denoising."""

    model: NonEmptyStr
    variant: str | None = None
    denoising_cutoff: Percent = 80
    steps: int = Field(default=20, ge=1, le=100)


class SDTaskArgs(StrictModel):
    """The arguments of a Stable Diffusion task; `base_model` always reads as a `BaseModelRef`
    (a bare string becomes `{name}`, as Crynux does)."""

    version: SDVersion = "2.5.0"
    base_model: Annotated[
        BaseModelRef, BeforeValidator(_name_as_ref, json_schema_input_type=BaseModelRef | str)
    ]
    dtype: Dtype = "auto"
    unet: OptionalModelId = None
    prompt: NonEmptyStr = Field(description="Compel syntax, weights such as `(fox)++` included.")
    negative_prompt: str = ""
    task_config: TaskConfig
    lora: Lora | None = None
    controlnet: ControlNet | None = None
    scheduler: Scheduler = Field(default_factory=Scheduler)
    vae: OptionalModelId = None
    refiner: Refiner | None = None
    textual_inversion: OptionalModelId = None
