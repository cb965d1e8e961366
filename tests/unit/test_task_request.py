"""Task arguments from `hydrogen task run` options: the JSON the relay gets, and refusals that
name the option, the field and the bad value before anything is sent."""

from __future__ import annotations

import json

import pytest

from hydrogen.app.args import (
    DEFAULT_LLM_MODEL,
    DEFAULT_SD_MODEL,
    ArgsFile,
    LLMOptions,
    SDOptions,
    llm_request,
    parse_size,
    read_args_file,
    sd_request,
)
from hydrogen.app.errors import ArgsRefused
from hydrogen.app.fee import format_wei, parse_fee
from schemas.task_args import LLMTaskArgs, SDTaskArgs, TaskKind, args_hash, parse_task_args

SD_FILE = {
    "base_model": "tiny-sd15",
    "prompt": "a red fox in the snow",
    "task_config": {"image_width": 64, "image_height": 64, "steps": 2, "seed": 7},
}


def sd_file(document: object = SD_FILE, name: str = "task.json") -> ArgsFile:
    return read_args_file(name, json.dumps(document, indent=2).encode())


def test_sd_options_become_the_task_format() -> None:
    request = sd_request(
        SDOptions(
            prompt="a fox",
            negative="blur",
            lora="tiny-lora-sd15",
            lora_weight=70,
            steps=2,
            seed=7,
            size=(64, 32),
            num_images=2,
            cfg=6.5,
        )
    )
    document = json.loads(request.raw)
    assert document == {
        "base_model": DEFAULT_SD_MODEL,
        "prompt": "a fox",
        "negative_prompt": "blur",
        "lora": {"model": "tiny-lora-sd15", "weight": 70},
        "task_config": {
            "steps": 2,
            "seed": 7,
            "num_images": 2,
            "cfg": 6.5,
            "image_width": 64,
            "image_height": 32,
        },
    }
    assert request.kind is TaskKind.SD
    assert isinstance(request.args, SDTaskArgs)
    assert request.model_ids == ["base:tiny-sd15", "lora:tiny-lora-sd15"]
    assert request.args_hash == args_hash(request.raw)
    assert parse_task_args(TaskKind.SD, request.raw) == request.args


def test_an_args_file_alone_is_sent_byte_for_byte() -> None:
    args_file = sd_file()
    request = sd_request(SDOptions(), args_file)
    assert request.raw == args_file.raw
    assert b"\n  " in request.raw  # the file's own formatting, not ours


def test_options_override_the_fields_of_an_args_file_and_keep_the_rest() -> None:
    request = sd_request(SDOptions(seed=3, size=(32, 32)), sd_file())
    document = json.loads(request.raw)
    assert document["task_config"] == {"image_width": 32, "image_height": 32, "steps": 2, "seed": 3}
    assert document["prompt"] == "a red fox in the snow"
    assert document["base_model"] == "tiny-sd15"


def test_a_bad_size_is_refused_naming_the_option_the_field_and_the_value() -> None:
    with pytest.raises(ArgsRefused) as refused:
        sd_request(SDOptions(prompt="a fox", size=(65, 64)))
    assert refused.value.option == "--size"
    assert refused.value.field == "task_config.image_width"
    assert refused.value.value == 65
    assert str(refused.value).startswith("--size: task_config.image_width=65: ")
    assert "multiple of 8" in str(refused.value)


def test_a_missing_prompt_names_the_option_that_gives_it() -> None:
    with pytest.raises(ArgsRefused) as refused:
        sd_request(SDOptions(steps=2))
    assert refused.value.option == "--prompt"
    assert refused.value.field == "prompt"


def test_a_bad_field_that_came_from_the_file_names_the_file() -> None:
    bad = {**SD_FILE, "task_config": {"steps": 0}}
    with pytest.raises(ArgsRefused) as refused:
        sd_request(SDOptions(seed=1), sd_file(bad, "mine.json"))
    assert refused.value.option == "--args mine.json"
    assert refused.value.field == "task_config.steps"
    assert refused.value.value == 0


def test_an_option_overriding_a_bad_file_value_is_named_when_it_is_bad_too() -> None:
    with pytest.raises(ArgsRefused) as refused:
        sd_request(SDOptions(steps=500), sd_file())
    assert refused.value.option == "--steps"
    assert refused.value.value == 500


def test_an_args_file_that_is_no_json_object_is_refused_naming_it() -> None:
    with pytest.raises(ArgsRefused, match=r"--args list\.json: .*must be a JSON object"):
        read_args_file("list.json", b"[1, 2]")
    with pytest.raises(ArgsRefused, match=r"--args broken\.json: not a JSON document"):
        read_args_file("broken.json", b"{")


def test_llm_options_become_the_task_format() -> None:
    request = llm_request(
        LLMOptions(messages=("Hello", "Why?"), system="Be brief.", max_tokens=8, seed=5)
    )
    assert json.loads(request.raw) == {
        "model": DEFAULT_LLM_MODEL,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "user", "content": "Why?"},
        ],
        "generation_config": {"max_new_tokens": 8},
        "seed": 5,
    }
    assert isinstance(request.args, LLMTaskArgs)
    assert request.model_ids == ["llm:tiny-gpt2"]


def test_llm_max_tokens_out_of_range_names_the_option() -> None:
    with pytest.raises(ArgsRefused) as refused:
        llm_request(LLMOptions(messages=("Hi",), max_tokens=0))
    assert refused.value.option == "--max-tokens"
    assert refused.value.field == "generation_config.max_new_tokens"
    assert refused.value.value == 0


def test_an_llm_task_without_a_message_names_the_option() -> None:
    with pytest.raises(ArgsRefused) as refused:
        llm_request(LLMOptions())
    assert refused.value.option == "--message"


@pytest.mark.parametrize(
    ("text", "size"), [("64x64", (64, 64)), ("512X768", (512, 768)), (" 8 x 16 ", (8, 16))]
)
def test_sizes_read_as_width_and_height(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["64", "64x", "x64", "64*64", "-8x8", "axb"])
def test_a_size_that_is_not_w_x_h_is_refused_quoting_it(text: str) -> None:
    with pytest.raises(ValueError, match="is not WIDTHxHEIGHT") as refused:
        parse_size(text)
    assert repr(text) in str(refused.value)


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("10000000000000000", 10**16),
        ("0.01eth", 10**16),
        ("0.01 ETH", 10**16),
        ("1ether", 10**18),
        ("5gwei", 5 * 10**9),
        ("123wei", 123),
        ("1e16wei", 10**16),
    ],
)
def test_fees_read_in_wei(text: str, wei: int) -> None:
    assert parse_fee(text) == wei


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0.01", "has no unit"),
        ("0", "more than 0"),
        ("0eth", "more than 0"),
        ("1.5wei", "fraction of a wei"),
        ("0.0000000000000000001eth", "fraction of a wei"),
        ("3 dollars", "unknown unit"),
        ("lots", "is not an amount"),
        ("1e-3eth", "is not an amount"),
    ],
)
def test_bad_fees_are_refused_quoting_them(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as refused:
        parse_fee(text)
    assert repr(text) in str(refused.value)


def test_fees_print_in_ether_or_wei() -> None:
    assert format_wei(10**16) == "0.01 ETH"
    assert format_wei(2 * 10**18) == "2 ETH"
    assert format_wei(500) == "500 wei"


def test_an_option_cannot_write_into_a_file_field_that_is_no_object() -> None:
    bad = {**SD_FILE, "task_config": "fast"}
    with pytest.raises(ArgsRefused) as refused:
        sd_request(SDOptions(steps=2), sd_file(bad, "odd.json"))
    assert refused.value.option == "--args odd.json"
    assert str(refused.value) == "--args odd.json: task_config='fast': must be a JSON object"


def test_options_never_change_the_args_file_document_they_start_from() -> None:
    args_file = sd_file()
    sd_request(SDOptions(steps=9, lora="x"), args_file)
    assert args_file.document == SD_FILE
