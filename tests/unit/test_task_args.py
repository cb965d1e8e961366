"""Task arguments: Crynux tasks parse, bad ones are refused naming field and value."""

from __future__ import annotations

import json
import pickle
from typing import Any, get_args

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hydrogen.cli import cli
from schemas.task_args import (
    LLMTaskArgs,
    SDTaskArgs,
    TaskArgsInvalid,
    TaskKind,
    args_hash,
    model_ids_of,
    parse_task_args,
    task_args_json_schema,
)
from schemas.task_args.sd_controlnet import PREPROCESS_ARGS, PreprocessMethod
from schemas.task_args.sd_scheduler import SCHEDULER_ARGS, SchedulerMethod

PNG_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
    "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

# Realistic tasks, as Crynux's examples write them (sd_task examples/, gpt_task examples/).
SD15_SIMPLE = {
    "version": "2.5.0",
    "base_model": {"name": "crynux-network/stable-diffusion-v1-5", "variant": "fp16"},
    "prompt": "best quality, ultra high res, photorealistic++, 1girl, off-shoulder sweater",
    "negative_prompt": "paintings, sketches, worst quality+++++, low quality+++++",
    "task_config": {"num_images": 9, "safety_checker": False, "steps": 40},
}
SDXL_REFINER = {
    "version": "2.0.0",
    "base_model": {"name": "stabilityai/stable-diffusion-xl-base-1.0"},
    "prompt": "a photo of an astronaut riding a horse on mars",
    "task_config": {"num_images": 4, "steps": 40, "image_width": 1024, "image_height": 1024},
    "refiner": {"model": "stabilityai/stable-diffusion-xl-refiner-1.0", "denoising_cutoff": 80},
}
SDXL_LORA = {
    "version": "2.0.0",
    "base_model": "stabilityai/stable-diffusion-xl-base-1.0",
    "prompt": "best quality, 1girl, desert, full shot, dark stillsuit, stillsuit mask up",
    "negative_prompt": "no moon++, buried in sand, bare hands",
    "task_config": {"num_images": 9, "steps": 30},
    "lora": {"model": "https://civitai.com/api/download/models/178048"},
}
SD15_CONTROLNET_CANNY = {
    "version": "2.0.0",
    "base_model": "crynux-network/stable-diffusion-v1-5",
    "prompt": "a bird, best quality, extremely detailed",
    "task_config": {"num_images": 1, "steps": 30, "seed": 2147483647},
    "controlnet": {
        "model": "lllyasviel/sd-controlnet-canny",
        "image_dataurl": PNG_DATA_URL,
        "weight": 90,
        "preprocess": {"method": "canny", "args": {"low_threshold": 100, "high_threshold": 200}},
    },
    "unet": "",
    "vae": "",
    "textual_inversion": "",
}
SD15_LCM = {
    "version": "2.5.0",
    "base_model": "crynux-network/stable-diffusion-v1-5",
    "prompt": "self-portrait oil painting, a beautiful cyborg with golden hair, 8k",
    "task_config": {"num_images": 2, "steps": 4, "cfg": 1.5},
    "lora": {"model": "latent-consistency/lcm-lora-sdv1-5", "weight_file_name": "", "weight": 100},
    "scheduler": {"method": "LCMScheduler", "args": {"timestep_spacing": "trailing"}},
    "dtype": "float16",
}
LLM_CHAT_WITH_TOOLS = {
    "model": "Qwen/Qwen2.5-7B-Instruct",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What's the weather like in Paris today?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": '{"temperature_c": 21}'},
        {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather in a given city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
    "generation_config": {"max_new_tokens": 250, "do_sample": True, "temperature": 0.7},
    "seed": 42669,
    "dtype": "bfloat16",
}
LLM_MINIMAL = {"model": "qwen/qwen3-8b", "messages": [{"role": "user", "content": "Hi"}]}

SD_EXAMPLES = [SD15_SIMPLE, SDXL_REFINER, SDXL_LORA, SD15_CONTROLNET_CANNY, SD15_LCM]
LLM_EXAMPLES = [LLM_CHAT_WITH_TOOLS, LLM_MINIMAL]


def raw(doc: object) -> bytes:
    return json.dumps(doc).encode()


def with_changes(doc: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A deep copy of `doc` with the field at dotted `path` set to `value`."""
    copy = json.loads(json.dumps(doc))
    node = copy
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return copy


def refusal(kind: TaskKind, data: bytes) -> TaskArgsInvalid:
    with pytest.raises(TaskArgsInvalid) as caught:
        parse_task_args(kind, data)
    return caught.value


# --- Crynux tasks are Hydrogen tasks -------------------------------------------------------


@pytest.mark.parametrize("doc", SD_EXAMPLES, ids=lambda d: str(d["prompt"])[:20])
def test_crynux_sd_examples_parse(doc: dict[str, Any]) -> None:
    args = parse_task_args(TaskKind.SD, raw(doc))
    assert isinstance(args, SDTaskArgs)
    assert args.prompt == doc["prompt"]
    assert args.task_config.num_images == doc["task_config"]["num_images"]


@pytest.mark.parametrize("doc", LLM_EXAMPLES, ids=lambda d: str(d["model"]))
def test_crynux_llm_examples_parse(doc: dict[str, Any]) -> None:
    args = parse_task_args(TaskKind.LLM, raw(doc))
    assert isinstance(args, LLMTaskArgs)
    assert len(args.messages) == len(doc["messages"])


def test_sd_defaults_are_crynux_defaults() -> None:
    args = parse_task_args("SD", raw({"base_model": "m", "prompt": "p", "task_config": {}}))
    assert isinstance(args, SDTaskArgs)
    assert args.version == "2.5.0"
    assert args.dtype == "auto"
    assert args.negative_prompt == ""
    config = args.task_config
    assert (config.image_width, config.image_height, config.steps, config.seed) == (512, 512, 1, 0)
    assert (config.num_images, config.safety_checker, config.cfg) == (6, True, 5.0)
    assert args.scheduler.method == "DPMSolverMultistepScheduler"
    assert args.scheduler.args == {}


def test_a_bare_base_model_name_reads_as_a_name_without_variant() -> None:
    args = parse_task_args("sd", raw(SDXL_LORA))
    assert isinstance(args, SDTaskArgs)
    assert args.base_model.name == "stabilityai/stable-diffusion-xl-base-1.0"
    assert args.base_model.variant is None


def test_empty_model_ids_read_as_no_model() -> None:
    args = parse_task_args("SD", raw(SD15_CONTROLNET_CANNY))
    assert isinstance(args, SDTaskArgs)
    assert (args.unet, args.vae, args.textual_inversion) == (None, None, None)


def test_null_scheduler_arguments_are_dropped_so_the_map_passes_on_as_kwargs() -> None:
    doc = with_changes(SD15_LCM, "scheduler.args", {"timestep_spacing": None, "beta_start": 0.001})
    args = parse_task_args("SD", raw(doc))
    assert isinstance(args, SDTaskArgs)
    assert args.scheduler.args == {"beta_start": 0.001}


def test_llm_defaults() -> None:
    args = parse_task_args("LLM", raw({**LLM_MINIMAL, "generation_config": None}))
    assert isinstance(args, LLMTaskArgs)
    assert args.generation_config.max_new_tokens == 256
    assert (args.seed, args.dtype, args.quantize_bits) == (0, "auto", None)


def test_every_crynux_preprocessor_is_known_with_its_arguments() -> None:
    assert set(get_args(PreprocessMethod)) == set(PREPROCESS_ARGS)
    assert len(PREPROCESS_ARGS) == 26  # Crynux's 24 in its union, plus softedge_hed and dwpose
    assert set(get_args(SchedulerMethod)) == set(SCHEDULER_ARGS)


@pytest.mark.parametrize("method", sorted(PREPROCESS_ARGS))
def test_each_preprocessor_parses(method: str) -> None:
    doc = with_changes(SD15_CONTROLNET_CANNY, "controlnet.preprocess", {"method": method})
    args = parse_task_args("SD", raw(doc))
    assert isinstance(args, SDTaskArgs)
    assert args.controlnet is not None
    assert args.controlnet.preprocess is not None
    assert args.controlnet.preprocess.method == method


# --- Refusals name the field, the value and why --------------------------------------------

SD_REFUSALS = [
    ("task_config.steps", 0, "greater than or equal to 1"),
    ("task_config.steps", 101, "less than or equal to 100"),
    ("task_config.seed", 2**31, "less than 2147483648"),
    ("task_config.seed", -1, "greater than or equal to 0"),
    ("task_config.image_width", 513, "multiple of 8"),
    ("task_config.image_height", 4096, "less than or equal to 2048"),
    ("task_config.num_images", 11, "less than or equal to 10"),
    ("task_config.cfg", 21, "less than or equal to 20"),
    ("scheduler.method", "KarrasScheduler", "'LCMScheduler'"),
    ("lora.weight", 0, "greater than 0"),
    ("version", "4.0.0", "'3.0.0'"),
    ("dtype", "int8", "'auto'"),
    ("prompt", "", "at least 1 character"),
    ("prompt", 5, "valid string"),
    ("task_config.steps", "many", "valid integer"),
]


@pytest.mark.parametrize(("field", "value", "reason"), SD_REFUSALS)
def test_a_bad_sd_field_is_named_with_its_value(field: str, value: object, reason: str) -> None:
    error = refusal(TaskKind.SD, raw(with_changes(SD15_LCM, field, value)))
    assert (error.field, error.value) == (field, value)
    assert reason in error.reason
    assert field in str(error) and repr(value) in str(error) and error.reason in str(error)
    assert isinstance(error, ValueError)


def test_an_unknown_field_is_refused_because_a_typo_would_be_ignored() -> None:
    error = refusal(TaskKind.SD, raw({**SD15_SIMPLE, "negative_promt": "blurry"}))
    assert (error.field, error.value) == ("negative_promt", "blurry")
    assert "unknown field" in error.reason


def test_an_unknown_nested_field_is_refused() -> None:
    error = refusal(TaskKind.SD, raw(with_changes(SD15_SIMPLE, "task_config.stpes", 30)))
    assert (error.field, error.value) == ("task_config.stpes", 30)


def test_a_scheduler_argument_the_method_does_not_take_is_refused() -> None:
    doc = with_changes(SD15_LCM, "scheduler.args", {"use_karras_sigmas": True})
    error = refusal(TaskKind.SD, raw(doc))
    assert error.field == "scheduler.args"
    assert "LCMScheduler takes no argument 'use_karras_sigmas'" in error.reason


def test_a_preprocess_argument_of_the_wrong_kind_is_refused() -> None:
    doc = with_changes(SD15_CONTROLNET_CANNY, "controlnet.preprocess.args.low_threshold", True)
    error = refusal(TaskKind.SD, raw(doc))
    assert error.field == "controlnet.preprocess.args"
    assert "'low_threshold' must be a int, got True" in error.reason


def test_a_controlnet_without_an_image_data_url_is_refused() -> None:
    error = refusal(
        TaskKind.SD, raw(with_changes(SD15_CONTROLNET_CANNY, "controlnet.image_dataurl", ""))
    )
    assert (error.field, error.value) == ("controlnet.image_dataurl", "")
    assert "data URL" in error.reason


def test_a_missing_required_field_is_named() -> None:
    doc = {k: v for k, v in SD15_SIMPLE.items() if k != "task_config"}
    error = refusal(TaskKind.SD, raw(doc))
    assert (error.field, error.value) == ("task_config", None)
    assert str(error) == "task_config: required field is missing"


def test_a_base_model_of_the_wrong_type_says_what_it_may_be() -> None:
    error = refusal(TaskKind.SD, raw({**SD15_SIMPLE, "base_model": 15}))
    assert (error.field, error.value) == ("base_model", 15)
    assert "model id string or an object {name, variant}" in error.reason


def test_every_bad_field_is_listed_first_one_first() -> None:
    doc = with_changes(with_changes(SD15_SIMPLE, "task_config.steps", 0), "prompt", "")
    error = refusal(TaskKind.SD, raw(doc))
    assert [e.field for e in error.errors] == ["prompt", "task_config.steps"]
    assert error.field == "prompt"
    assert str(error).endswith("(and 1 more)")


LLM_REFUSALS = [
    ("messages.0.role", "bot", "'system', 'user', 'assistant' or 'tool'"),
    ("generation_config.temperature", -0.5, "greater than or equal to 0"),
    ("generation_config.max_new_tokens", 0, "greater than or equal to 1"),
    ("generation_config.num_beams", 17, "less than or equal to 16"),
    ("generation_config.top_p", 1.5, "less than or equal to 1"),
    ("quantize_bits", 2, "4 or 8"),
    ("messages", [], "at least 1 item"),
]


@pytest.mark.parametrize(("field", "value", "reason"), LLM_REFUSALS)
def test_a_bad_llm_field_is_named_with_its_value(field: str, value: object, reason: str) -> None:
    error = refusal(TaskKind.LLM, raw(with_changes(LLM_CHAT_WITH_TOOLS, field, value)))
    assert (error.field, error.value) == (field, value)
    assert reason in error.reason


def test_a_bad_content_part_is_named_inside_the_message() -> None:
    doc = with_changes(LLM_CHAT_WITH_TOOLS, "messages.4.content.0.text", "")
    error = refusal(TaskKind.LLM, raw(doc))
    # Reported where it is, not as "content is not a string" from the other union member.
    assert [e.field for e in error.errors] == ["messages.4.content.0.text"]


def test_an_image_part_must_hold_base64() -> None:
    part = {"type": "image", "base64": "not base64!"}
    error = refusal(TaskKind.LLM, raw(with_changes(LLM_MINIMAL, "messages.0.content", [part])))
    assert (error.field, error.value) == ("messages.0.content.0.base64", "not base64!")


def test_malformed_json_is_refused_with_its_position() -> None:
    error = refusal(TaskKind.SD, b'{"prompt": "a fox",, }')
    assert error.field == ""
    assert "malformed JSON" in error.reason
    assert "line 1 column 20" in error.reason


def test_bytes_that_are_not_utf8_are_refused() -> None:
    error = refusal(TaskKind.SD, b'{"prompt": "\xff"}')
    assert error.field == ""
    assert "not UTF-8" in error.reason


def test_nan_is_not_json() -> None:
    error = refusal(TaskKind.SD, b'{"task_config": {"cfg": NaN}}')
    assert "NaN" in error.reason


@pytest.mark.parametrize(("doc", "json_type"), [([SD15_SIMPLE], "array"), ("task", "string")])
def test_a_document_that_is_not_an_object_is_refused(doc: object, json_type: str) -> None:
    error = refusal(TaskKind.SD, raw(doc))
    assert (error.field, error.value) == ("", doc)
    assert f"must be a JSON object, got a JSON {json_type}" in error.reason


def test_sd_arguments_are_not_llm_arguments() -> None:
    error = refusal(TaskKind.LLM, raw(SD15_SIMPLE))
    assert {e.field for e in error.errors} >= {"model", "messages", "prompt"}


def test_the_error_survives_pickling_whole() -> None:
    error = refusal(TaskKind.SD, raw(with_changes(SD15_SIMPLE, "task_config.steps", 0)))
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.value, copy.reason, copy.errors) == (
        error.field,
        error.value,
        error.reason,
        error.errors,
    )


# --- Kinds, hashes, model ids --------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kind"),
    [("SD", TaskKind.SD), ("llm", TaskKind.LLM), (0, TaskKind.SD), (1, TaskKind.LLM)],
)
def test_a_kind_reads_from_its_avro_name_or_contract_number(given: object, kind: TaskKind) -> None:
    assert TaskKind(given) is kind


def test_kinds_match_the_avro_enum_and_the_contract_numbers() -> None:
    avsc = json.loads(open("schemas/avro/InferenceJob.v1.avsc").read())  # noqa: SIM115
    (field,) = [f for f in avsc["fields"] if f["name"] == "task_type"]
    assert field["type"]["symbols"] == [k.value for k in TaskKind]
    assert [k.contract_value for k in TaskKind] == [0, 1]  # TaskType in HydrogenTypes.sol


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown task kind 'IMG'"):
        parse_task_args("IMG", raw(SD15_SIMPLE))


def test_args_hash_is_keccak256_of_the_exact_bytes() -> None:
    assert args_hash(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert args_hash(b'{"a": 1}') != args_hash(b'{"a":1}')


def test_model_ids_of_an_sd_task_name_every_model_in_order() -> None:
    doc = {
        **SDXL_REFINER,
        "base_model": {"name": "stabilityai/stable-diffusion-xl-base-1.0", "variant": "fp16"},
        "unet": "latent-consistency/lcm-sdxl",
        "vae": "madebyollin/sdxl-vae-fp16-fix",
        "lora": {"model": "https://civitai.com/api/download/models/178048"},
        "controlnet": {
            "model": "diffusers/controlnet-canny-sdxl-1.0",
            "variant": "fp16",
            "image_dataurl": PNG_DATA_URL,
        },
        "textual_inversion": "sd-concepts-library/cat-toy",
    }
    args = parse_task_args("SD", raw(doc))
    assert model_ids_of(args) == [
        "base:stabilityai/stable-diffusion-xl-base-1.0+fp16",
        "unet:latent-consistency/lcm-sdxl",
        "vae:madebyollin/sdxl-vae-fp16-fix",
        "lora:https://civitai.com/api/download/models/178048",
        "controlnet:diffusers/controlnet-canny-sdxl-1.0+fp16",
        "textual_inversion:sd-concepts-library/cat-toy",
        "refiner:stabilityai/stable-diffusion-xl-refiner-1.0",
    ]


def test_model_ids_of_a_simple_task_and_an_llm_task() -> None:
    assert model_ids_of(parse_task_args("SD", raw(SD15_SIMPLE))) == [
        "base:crynux-network/stable-diffusion-v1-5+fp16"
    ]
    assert model_ids_of(parse_task_args("LLM", raw(LLM_MINIMAL))) == ["llm:qwen/qwen3-8b"]


# --- JSON Schema ---------------------------------------------------------------------------


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize(
    ("kind", "model", "required"),
    [
        (TaskKind.SD, SDTaskArgs, ["base_model", "prompt", "task_config"]),
        (TaskKind.LLM, LLMTaskArgs, ["model", "messages"]),
    ],
)
def test_json_schema_describes_the_model(kind: TaskKind, model: type, required: list[str]) -> None:
    schema = task_args_json_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(json.dumps(schema)) == schema
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(model.model_fields)
    assert schema["required"] == required
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"]


def test_json_schema_lists_the_choices() -> None:
    defs = task_args_json_schema("SD")["$defs"]
    assert set(defs["Scheduler"]["properties"]["method"]["enum"]) == set(SCHEDULER_ARGS)
    assert set(defs["Preprocess"]["properties"]["method"]["enum"]) == set(PREPROCESS_ARGS)
    steps = defs["TaskConfig"]["properties"]["steps"]
    assert (steps["minimum"], steps["maximum"]) == (1, 100)


@pytest.mark.parametrize(
    ("kind", "doc"),
    [*((TaskKind.SD, d) for d in SD_EXAMPLES), *((TaskKind.LLM, d) for d in LLM_EXAMPLES)],
)
def test_examples_validate_against_the_json_schema(kind: TaskKind, doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")  # comes with the dev extra (schemathesis)
    jsonschema.Draft202012Validator(task_args_json_schema(kind)).validate(doc)


def test_cli_prints_the_json_schema_of_one_kind() -> None:
    result = CliRunner().invoke(cli, ["schemas", "task-args", "--kind", "sd"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == task_args_json_schema(TaskKind.SD)


def test_cli_prints_both_schemas_by_kind_without_a_kind() -> None:
    result = CliRunner().invoke(cli, ["schemas", "task-args"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {k.value: task_args_json_schema(k) for k in TaskKind}


# --- Round trip ----------------------------------------------------------------------------

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
maybe_ids = st.one_of(st.none(), st.just(""), names)
percents = st.integers(1, 100)

sd_docs = st.fixed_dictionaries(
    {
        "base_model": st.one_of(
            names, st.fixed_dictionaries({"name": names, "variant": st.none() | names})
        ),
        "prompt": names,
        "task_config": st.fixed_dictionaries(
            {
                "image_width": st.integers(1, 256).map(lambda n: n * 8),
                "image_height": st.integers(1, 256).map(lambda n: n * 8),
                "steps": st.integers(1, 100),
                "seed": st.integers(0, 2**31 - 1),
                "num_images": st.integers(1, 10),
                "safety_checker": st.booleans(),
                "cfg": st.floats(0, 20) | st.integers(0, 20),
            }
        ),
    },
    optional={
        "version": st.sampled_from(["1.0.0", "2.0.0", "2.1.0", "2.5.0", "3.0.0"]),
        "negative_prompt": st.text(max_size=30),
        "dtype": st.sampled_from(["float16", "bfloat16", "float32", "auto"]),
        "unet": maybe_ids,
        "vae": maybe_ids,
        "textual_inversion": maybe_ids,
        "lora": st.fixed_dictionaries(
            {"model": names}, optional={"weight_file_name": maybe_ids, "weight": percents}
        ),
        "controlnet": st.fixed_dictionaries(
            {"model": names, "image_dataurl": st.just(PNG_DATA_URL)},
            optional={
                "variant": st.none() | names,
                "weight": percents,
                "preprocess": st.sampled_from(sorted(PREPROCESS_ARGS)).map(lambda m: {"method": m}),
            },
        ),
        "scheduler": st.fixed_dictionaries(
            {"method": st.sampled_from(sorted(SCHEDULER_ARGS))},
            optional={"args": st.just({"timestep_spacing": "trailing", "beta_start": None})},
        ),
        "refiner": st.fixed_dictionaries(
            {"model": names},
            optional={"variant": st.none() | names, "denoising_cutoff": percents},
        ),
    },
)

text_parts = st.fixed_dictionaries({"type": st.just("text"), "text": names})
image_parts = st.fixed_dictionaries({"type": st.just("image"), "base64": st.just("aGVsbG8=")})
messages = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool"])},
    optional={
        "content": st.none() | st.text(max_size=30) | st.lists(text_parts | image_parts),
        "tool_call_id": st.none() | names,
        "tool_calls": st.none() | st.just([{"type": "function", "function": {"name": "f"}}]),
    },
)
llm_docs = st.fixed_dictionaries(
    {"model": names, "messages": st.lists(messages, min_size=1, max_size=4)},
    optional={
        "seed": st.integers(0, 2**63 - 1),
        "quantize_bits": st.sampled_from([4, 8, None]),
        "generation_config": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "max_new_tokens": st.integers(1, 32768),
                "stop_strings": st.lists(names, max_size=3),
                "do_sample": st.booleans(),
                "temperature": st.floats(0, 10),
                "top_k": st.integers(0, 1000),
                "top_p": st.floats(0, 1),
            },
        ),
        "template_args": st.none() | st.just({"enable_thinking": False}),
    },
)


@settings(max_examples=150)
@given(doc=sd_docs)
def test_an_sd_model_serialized_parses_back_equal(doc: dict[str, Any]) -> None:
    args = parse_task_args(TaskKind.SD, raw(doc))
    assert parse_task_args(TaskKind.SD, args.model_dump_json().encode()) == args


@settings(max_examples=150)
@given(doc=llm_docs)
def test_an_llm_model_serialized_parses_back_equal(doc: dict[str, Any]) -> None:
    args = parse_task_args(TaskKind.LLM, raw(doc))
    assert parse_task_args(TaskKind.LLM, args.model_dump_json().encode()) == args


@settings(max_examples=100)
@given(doc=sd_docs)
def test_every_sd_task_the_parser_accepts_fits_the_json_schema(doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    parse_task_args(TaskKind.SD, raw(doc))
    jsonschema.Draft202012Validator(task_args_json_schema(TaskKind.SD)).validate(doc)


@settings(max_examples=100)
@given(doc=llm_docs)
def test_every_llm_task_the_parser_accepts_fits_the_json_schema(doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    parse_task_args(TaskKind.LLM, raw(doc))
    jsonschema.Draft202012Validator(task_args_json_schema(TaskKind.LLM)).validate(doc)
