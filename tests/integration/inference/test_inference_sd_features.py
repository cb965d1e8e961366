"""Every SD feature on the tiny models: it changes the image's p-hash, and it is repeatable."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from inference.engine import Engine
from inference.errors import ArgsUnsupported, ModelUnavailable
from inference.tiny_models import TEXTUAL_INVERSION_TOKEN
from schemas.task_args import parse_task_args

Run = Callable[..., list[bytes]]


def control_image_url() -> str:
    pixels = np.zeros((64, 64), dtype=np.uint8)
    pixels[16:48, 16:48] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_same_task_gives_the_same_p_hashes(run_sd: Run) -> None:
    assert run_sd() == run_sd()


def test_different_seeds_give_different_p_hashes(run_sd: Run) -> None:
    assert run_sd(task_config={"seed": 1}) != run_sd(task_config={"seed": 2})


def test_the_prompt_changes_the_image(run_sd: Run) -> None:
    assert run_sd(prompt="a red fox in the snow") != run_sd(prompt="blue whales under ice")


def test_image_i_of_a_task_is_the_ith_draw_of_one_generator(run_sd: Run) -> None:
    two = run_sd(task_config={"num_images": 2})
    assert two[0] == run_sd(task_config={"num_images": 1})[0]
    assert two[0] != two[1]


@pytest.mark.parametrize(
    "method", ["DPMSolverMultistepScheduler", "EulerAncestralDiscreteScheduler", "LCMScheduler"]
)
def test_each_scheduler_draws_its_own_image_repeatably(run_sd: Run, method: str) -> None:
    others = {"DPMSolverMultistepScheduler", "EulerAncestralDiscreteScheduler", "LCMScheduler"}
    mine = run_sd(scheduler={"method": method})
    assert mine == run_sd(scheduler={"method": method})
    for other in others - {method}:
        assert mine != run_sd(scheduler={"method": other})


def test_a_lora_changes_the_image_with_its_weight(run_sd: Run) -> None:
    plain = run_sd()
    full = run_sd(lora={"model": "tiny-lora-sd15", "weight": 100})
    half = run_sd(lora={"model": "tiny-lora-sd15", "weight": 30})
    assert len({plain[0], full[0], half[0]}) == 3


def test_a_task_after_a_lora_task_is_as_on_a_fresh_pipeline(run_sd: Run, engine: Engine) -> None:
    plain = run_sd()
    run_sd(lora={"model": "tiny-lora-sd15"})
    misses = engine.cache_stats().misses
    assert run_sd() == plain
    assert engine.cache_stats().misses == misses  # the base was not loaded again


def test_a_textual_inversion_gives_its_token_a_meaning(run_sd: Run) -> None:
    prompt = f"a {TEXTUAL_INVERSION_TOKEN} in the snow"
    without = run_sd(prompt=prompt)
    with_it = run_sd(prompt=prompt, textual_inversion="tiny-textual-inversion-sd15")
    assert with_it != without
    assert run_sd(prompt=prompt) == without  # unloaded after its task


def test_a_controlnet_with_canny_steers_the_image_by_its_weight(run_sd: Run) -> None:
    controlnet = {"model": "tiny-controlnet-sd15", "image_dataurl": control_image_url(),
                  "preprocess": {"method": "canny", "args": {"low_threshold": 50}}}  # fmt: skip
    plain = run_sd()
    strong = run_sd(controlnet={**controlnet, "weight": 100})
    weak = run_sd(controlnet={**controlnet, "weight": 20})
    assert len({plain[0], strong[0], weak[0]}) == 3
    assert strong == run_sd(controlnet={**controlnet, "weight": 100})


def test_a_vae_override_changes_the_decoded_image(run_sd: Run) -> None:
    assert run_sd(vae="tiny-vae") != run_sd()


def test_an_sdxl_base_runs_and_its_refiner_changes_the_image(run_sd: Run) -> None:
    base = run_sd(base_model="tiny-sdxl")
    assert base == run_sd(base_model="tiny-sdxl")
    refined = run_sd(base_model="tiny-sdxl", refiner={"model": "tiny-sdxl-refiner", "steps": 4, "denoising_cutoff": 50})  # fmt: skip
    assert refined != base


def test_an_sdxl_controlnet_steers_an_sdxl_base(run_sd: Run) -> None:
    controlnet = {
        "model": "tiny-controlnet-sdxl",
        "image_dataurl": control_image_url(),
        "weight": 100,
    }
    assert run_sd(base_model="tiny-sdxl", controlnet=controlnet) != run_sd(base_model="tiny-sdxl")


def test_the_dtype_used_is_reported(engine: Engine) -> None:
    raw = json.dumps({"base_model": "tiny-sd15", "prompt": "x", "dtype": "float16",
                      "task_config": {"image_width": 64, "image_height": 64, "num_images": 1}}).encode()  # fmt: skip
    assert (
        engine.run(parse_task_args("SD", raw)).dtype == "float32"
    )  # a CPU runs float16 as float32


def test_a_missing_model_is_model_unavailable(run_sd: Run) -> None:
    with pytest.raises(ModelUnavailable, match="someone/no-such-model"):
        run_sd(base_model="someone/no-such-model")


def test_a_refiner_on_an_sd15_base_is_unsupported(run_sd: Run) -> None:
    with pytest.raises(ArgsUnsupported, match="refiner"):
        run_sd(refiner={"model": "tiny-sdxl-refiner"})


def test_a_preprocessor_this_node_lacks_is_unsupported(run_sd: Run) -> None:
    controlnet = {"model": "tiny-controlnet-sd15", "image_dataurl": control_image_url(),
                  "preprocess": {"method": "depth_midas"}}  # fmt: skip
    with pytest.raises(ArgsUnsupported, match="depth_midas"):
        run_sd(controlnet=controlnet)
