"""LLM chat completion on the tiny GPT-2: repeatable, seeded, shaped like Crynux's response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Chat = Callable[..., dict[str, Any]]


def test_the_same_task_gives_the_same_response(run_llm: Chat) -> None:
    assert run_llm() == run_llm()


def test_the_response_is_shaped_like_crynux(run_llm: Chat) -> None:
    response = run_llm(generation_config={"max_new_tokens": 5})
    assert response["model"] == "tiny-gpt2"
    (choice,) = response["choices"]
    assert choice["message"]["role"] == "assistant" and choice["index"] == 0
    assert choice["finish_reason"] in ("stop", "length")
    usage = response["usage"]
    assert usage["completion_tokens"] <= 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_sampling_follows_the_seed(run_llm: Chat) -> None:
    sampled = {"max_new_tokens": 12, "do_sample": True, "temperature": 1.5}
    first = run_llm(generation_config=sampled, seed=1)
    assert first == run_llm(generation_config=sampled, seed=1)
    assert first != run_llm(generation_config=sampled, seed=2)


def test_the_messages_change_the_response(run_llm: Chat) -> None:
    other = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour."},
    ]
    assert run_llm()["choices"] != run_llm(messages=other)["choices"]


def test_num_return_sequences_gives_that_many_choices(run_llm: Chat) -> None:
    config = {"max_new_tokens": 4, "do_sample": True, "num_return_sequences": 2}
    assert [c["index"] for c in run_llm(generation_config=config)["choices"]] == [0, 1]
