"""The three schedulers Crynux offers, built fresh for every task.

A scheduler keeps state between steps (DPM-Solver's previous outputs, the step index), so a
task never reuses another's: it gets a new one, built from the model's own scheduler config
(betas, prediction type, timestep spacing) with the task's `args` on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import (
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    LCMScheduler,
    SchedulerMixin,
)

from inference.errors import ArgsUnsupported

SCHEDULERS: dict[str, type[SchedulerMixin]] = {
    "DPMSolverMultistepScheduler": DPMSolverMultistepScheduler,
    "EulerAncestralDiscreteScheduler": EulerAncestralDiscreteScheduler,
    "LCMScheduler": LCMScheduler,
}


def build_scheduler(
    method: str, model_config: Mapping[str, Any], args: Mapping[str, Any]
) -> SchedulerMixin:
    cls = SCHEDULERS.get(method)
    if cls is None:
        raise ArgsUnsupported(f"scheduler {method!r} is not one of {', '.join(SCHEDULERS)}")
    try:
        return cls.from_config(dict(model_config), **dict(args))  # type: ignore[no-any-return]
    except (ValueError, NotImplementedError) as exc:
        # e.g. an algorithm_type or beta_schedule name the scheduler does not know
        raise ArgsUnsupported(f"scheduler {method} refuses args {dict(args)!r}: {exc}") from exc
