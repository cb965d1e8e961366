"""A tiny GPT-2-shaped chat model: 2 layers 32 wide, a byte-level tokenizer, a chat template."""

from __future__ import annotations

import torch
from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

from inference.tiny_models.tokenizer import gpt2_tokenizer

# Role markers are plain text: the tiny vocabulary has no special tokens to spare for them.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<{{ message['role'] }}>{{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


def gpt2_chat() -> tuple[GPT2LMHeadModel, GPT2Tokenizer]:
    tokenizer = gpt2_tokenizer(CHAT_TEMPLATE)
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=256,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
    )
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    model.generation_config = GenerationConfig(
        bos_token_id=eos, eos_token_id=eos, pad_token_id=eos, max_new_tokens=16
    )
    return model, tokenizer
