"""An LLM task, run: chat template, generation config, seed; the response as Crynux writes it.

    {"model": ..., "choices": [{"index": 0, "message": {"role": "assistant", "content": ...},
     "finish_reason": "stop" | "length"}], "usage": {"prompt_tokens", "completion_tokens",
     "total_tokens"}}

The response is serialized canonically (sorted keys, no spaces, UTF-8): that document is the
blob the node uploads, and its sha256 is the result the three nodes compare, exactly.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from inference.errors import ArgsUnsupported
from inference.pipelines.determinism import seed_everything
from schemas.task_args import LLMTaskArgs, TaskArgsInvalid


def chat(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, args: LLMTaskArgs
) -> dict[str, Any]:
    if args.quantize_bits is not None:
        raise ArgsUnsupported(f"quantize_bits={args.quantize_bits} is not supported on this node")
    messages = [_message(m.model_dump(exclude_none=True)) for m in args.messages]
    try:
        inputs = tokenizer.apply_chat_template(
            messages,
            tools=args.tools,
            add_generation_prompt=True,
            return_tensors="pt",
            return_dict=True,
            **(args.template_args or {}),
        )
    except (ValueError, TypeError, KeyError) as exc:  # jinja's errors are among these
        raise TaskArgsInvalid(
            "messages", None, f"the model's chat template refuses them: {exc}"
        ) from exc
    inputs = {k: v.to(model.device) for k, v in inputs.items()}
    config = _generation_config(model, args)
    seed_everything(args.seed)
    with torch.inference_mode():
        sequences = model.generate(**inputs, generation_config=config, tokenizer=tokenizer)
    prompt_tokens = int(inputs["input_ids"].shape[1])
    eos = _eos_ids(config.eos_token_id)
    choices = []
    completion_tokens = 0
    for index, sequence in enumerate(sequences):
        new = sequence[prompt_tokens:].tolist()
        # Up to the first end token: a batch pads the sequences that ended early after it.
        cut = next((i + 1 for i, t in enumerate(new) if t in eos), None)
        new = new if cut is None else new[:cut]
        completion_tokens += len(new)
        choices.append(
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": tokenizer.decode(new, skip_special_tokens=True),
                },
                "finish_reason": "stop" if cut or len(new) < config.max_new_tokens else "length",
            }
        )
    return {
        "model": args.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens * len(choices) + completion_tokens,
        },
    }


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _message(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list) and any(part.get("type") == "image" for part in content):
        raise ArgsUnsupported("image parts in messages are not supported on this node")
    return message


def _generation_config(model: PreTrainedModel, args: LLMTaskArgs) -> GenerationConfig:
    config = GenerationConfig.from_dict(model.generation_config.to_dict())
    overrides = args.generation_config.model_dump(exclude_none=True)
    try:
        config.update(**overrides)
        config.validate(strict=True)
    except ValueError as exc:
        raise TaskArgsInvalid("generation_config", overrides, str(exc)) from exc
    if config.pad_token_id is None:
        config.pad_token_id = config.eos_token_id
    return config


def _eos_ids(eos: int | list[int] | None) -> set[int]:
    if eos is None:
        return set()
    return {eos} if isinstance(eos, int) else set(eos)
