"""The SD scheduler (sampler) choice: one of the three Crynux offers, with its arguments."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from schemas.task_args.extra_args import ArgKind, ArgValue, checked_args
from schemas.task_args.fields import StrictModel

SchedulerMethod = Literal[
    "DPMSolverMultistepScheduler", "EulerAncestralDiscreteScheduler", "LCMScheduler"
]

# The config keys of each diffusers scheduler that Crynux lets a task set (sd_task
# task_args/inference_task/scheduler_args.py).
_COMMON: dict[str, ArgKind] = {
    "num_train_timesteps": "int",
    "beta_start": "number",
    "beta_end": "number",
    "beta_schedule": "str",
    "prediction_type": "str",
    "timestep_spacing": "str",
    "steps_offset": "int",
    "rescale_betas_zero_snr": "bool",
}
_THRESHOLDING: dict[str, ArgKind] = {
    "thresholding": "bool",
    "dynamic_thresholding_ratio": "number",
    "sample_max_value": "number",
}
SCHEDULER_ARGS: dict[str, dict[str, ArgKind]] = {
    "DPMSolverMultistepScheduler": {
        **_COMMON,
        **_THRESHOLDING,
        "solver_order": "int",
        "algorithm_type": "str",
        "solver_type": "str",
        "lower_order_final": "bool",
        "euler_at_final": "bool",
        "use_karras_sigmas": "bool",
        "use_lu_lambdas": "bool",
        "final_sigmas_type": "str",
        "lambda_min_clipped": "number",
        "variance_type": "str",
    },
    "EulerAncestralDiscreteScheduler": dict(_COMMON),
    "LCMScheduler": {
        **_COMMON,
        **_THRESHOLDING,
        "original_inference_steps": "int",
        "clip_samples": "bool",
        "clip_samples_range": "number",
        "set_alpha_to_one": "bool",
        "timestep_scaling": "number",
    },
}


class Scheduler(StrictModel):
    """`{method, args}`; `args` are config overrides for the diffusers scheduler `method`."""

    method: SchedulerMethod = "DPMSolverMultistepScheduler"
    args: dict[str, ArgValue] = Field(default_factory=dict)

    @field_validator("args", mode="before")
    @classmethod
    def _known_args(cls, args: object, info: ValidationInfo) -> object:
        method = info.data.get("method")
        if method is None or not (args is None or isinstance(args, dict)):
            return args  # the method or the map itself is wrong; that error is reported
        return checked_args(method, args, SCHEDULER_ARGS[method])
