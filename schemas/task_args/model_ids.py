"""The models a node must hold to run a task, as ids in Crynux's `type:name[+variant]` form.

    base:<name>[+<variant>]        the SD pipeline (base_model)
    unet:<id>                      a UNet replacing the pipeline's own (e.g. an LCM UNet)
    vae:<id>
    lora:<model>
    controlnet:<model>[+<variant>]
    textual_inversion:<id>
    refiner:<model>[+<variant>]
    llm:<model>                    an LLM task's model

`type` is one of those words; `name` is the id as the task wrote it (an HF id, a URL or a
path), which may itself hold ':' or '+', so a reader splits at the first ':' and, for the
types that take a variant, at the last '+'. Crynux's node uses `base`, `lora` and `controlnet`
the same way; the other types are ours, because a node must fetch those models too. The list
follows the order above, without repeats, so the same task always gives the same list (it
goes into `InferenceJob.model_ids`).
"""

from __future__ import annotations

from schemas.task_args.llm import LLMTaskArgs
from schemas.task_args.sd import SDTaskArgs


def model_ids_of(args: SDTaskArgs | LLMTaskArgs) -> list[str]:
    """The ids of every model `args` needs, in the order the module docstring gives."""
    if isinstance(args, LLMTaskArgs):
        return [model_id("llm", args.model)]
    ids = [model_id("base", args.base_model.name, args.base_model.variant)]
    if args.unet:
        ids.append(model_id("unet", args.unet))
    if args.vae:
        ids.append(model_id("vae", args.vae))
    if args.lora:
        ids.append(model_id("lora", args.lora.model))
    if args.controlnet:
        ids.append(model_id("controlnet", args.controlnet.model, args.controlnet.variant))
    if args.textual_inversion:
        ids.append(model_id("textual_inversion", args.textual_inversion))
    if args.refiner:
        ids.append(model_id("refiner", args.refiner.model, args.refiner.variant))
    return list(dict.fromkeys(ids))


def model_id(kind: str, name: str, variant: str | None = None) -> str:
    """`kind:name`, with `+variant` when there is one."""
    return f"{kind}:{name}+{variant}" if variant else f"{kind}:{name}"
