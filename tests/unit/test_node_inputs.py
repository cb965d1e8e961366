"""The node commands' checks of operator values: what passes, and refusals that name the value."""

from __future__ import annotations

import pytest

from hydrogen.node_ops import inputs
from hydrogen.node_ops.errors import NodeInputError

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
ETH = 10**18


def refusal(check, *args) -> NodeInputError:  # type: ignore[no-untyped-def]
    with pytest.raises(NodeInputError) as info:
        check(*args)
    return info.value


# ---- addresses ----


def test_a_checksummed_address_passes_unchanged() -> None:
    assert inputs.node_address(NODE) == NODE


def test_an_all_lowercase_address_is_checksummed() -> None:
    assert inputs.node_address(NODE.lower()) == NODE


def test_mixed_case_that_breaks_the_checksum_is_refused_naming_the_address() -> None:
    typo = NODE[:-1] + "7"
    err = refusal(inputs.node_address, typo)
    assert err.param == "--node"
    assert typo in str(err)
    assert "checksum" in err.reason


@pytest.mark.parametrize("value", ["0x1234", "90F79bf6EB2c4f870365E785982E1f101E93b906", "node-5"])
def test_what_is_no_address_is_refused(value: str) -> None:
    err = refusal(inputs.node_address, value)
    assert repr(value) in str(err)
    assert "not an address" in err.reason


# ---- model ids ----


@pytest.mark.parametrize(
    "value",
    [
        "base:tiny-sd15",
        "base:stabilityai/stable-diffusion-xl-base-1.0+fp16",
        "lora:https://civitai.com/api/download/models/34562",
        "llm:Qwen/Qwen2.5-7B",
        "textual_inversion:sd-concepts-library/cat-toy",
    ],
)
def test_model_ids_in_kind_name_form_pass(value: str) -> None:
    assert inputs.model_id(value) == value


def test_an_unknown_kind_is_refused_naming_the_kind_and_the_known_ones() -> None:
    err = refusal(inputs.model_id, "checkpoint:sd15")
    assert "'checkpoint:sd15'" in str(err)
    assert "unknown model kind 'checkpoint'" in err.reason
    assert "base" in err.reason and "llm" in err.reason


def test_a_model_id_without_a_kind_is_refused() -> None:
    err = refusal(inputs.model_id, "tiny-sd15")
    assert err.value == "tiny-sd15"
    assert "KIND:NAME" in err.reason


@pytest.mark.parametrize("value", ["base:", "base: tiny", "llm:a b"])
def test_an_empty_or_spaced_model_name_is_refused(value: str) -> None:
    err = refusal(inputs.model_id, value)
    assert err.value == value
    assert "non-empty, without spaces" in err.reason


def test_an_empty_variant_is_refused() -> None:
    err = refusal(inputs.model_id, "base:sdxl+")
    assert "empty variant" in err.reason


def test_a_model_named_twice_is_refused() -> None:
    err = refusal(inputs.model_ids, ["base:a", "llm:b", "base:a"])
    assert err.value == "base:a"
    assert "twice" in err.reason


def test_a_node_without_models_is_refused() -> None:
    err = refusal(inputs.model_ids, [])
    assert "at least one model" in err.reason


def test_model_ids_keep_their_order() -> None:
    assert inputs.model_ids(["llm:b", "base:a"]) == ("llm:b", "base:a")


# ---- amounts and the stake ----


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("400", 400 * ETH),
        ("400eth", 400 * ETH),
        ("400 ETH", 400 * ETH),
        ("0.5ether", ETH // 2),
        (".25", ETH // 4),
        ("10gwei", 10 * 10**9),
        ("123wei", 123),
        ("1" * 40 + "wei", int("1" * 40)),
        ("123456789.123456789123456789", 123456789123456789123456789),
    ],
)
def test_amounts_read_as_eth_unless_a_unit_says_otherwise(text: str, wei: int) -> None:
    assert inputs.amount_wei(text, "--stake") == wei


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.5wei", "not a whole number of wei"),
        ("0.0000000000000000001", "not a whole number of wei"),
        ("400 dollars", "unknown unit 'dollars'"),
        ("-5", "not an amount"),
        ("lots", "not an amount"),
        ("", "not an amount"),
    ],
)
def test_amounts_that_are_no_amount_of_wei_are_refused(text: str, reason: str) -> None:
    err = refusal(inputs.amount_wei, text, "--stake")
    assert err.param == "--stake"
    assert err.value == text
    assert reason in err.reason


def test_without_a_stake_the_registry_minimum_is_staked() -> None:
    assert inputs.stake_wei(None, 400 * ETH) == 400 * ETH


def test_a_stake_under_the_registry_minimum_is_refused_with_both_amounts() -> None:
    err = refusal(inputs.stake_wei, "399.5", 400 * ETH)
    assert err.value == "399.5"
    assert err.reason == "399.5 ETH is less than the registry's minStake 400 ETH"


def test_a_top_up_of_nothing_is_refused() -> None:
    err = refusal(inputs.top_up_wei, "0")
    assert err.param == "--amount"
    assert "more than 0" in err.reason


# ---- VRAM, GPU, funds, request ids ----


def test_vram_under_the_lowest_tier_is_refused_naming_the_tiers() -> None:
    err = refusal(inputs.vram_gb, 6, (8, 12, 16))
    assert err.value == 6
    assert "lowest VRAM tier (8 GB; tiers: 8, 12, 16)" in err.reason


@pytest.mark.parametrize("vram", [0, -1, 2**32])
def test_vram_outside_uint32_is_refused(vram: int) -> None:
    assert "[1, 4294967295]" in refusal(inputs.vram_gb, vram, (8,)).reason


def test_vram_at_a_tier_floor_passes() -> None:
    assert inputs.vram_gb(8, (8, 12)) == 8


def test_a_blank_gpu_name_is_refused() -> None:
    assert refusal(inputs.gpu_name, "  ").param == "--gpu-name"


def test_a_node_that_cannot_pay_the_stake_and_gas_is_refused_with_its_balance() -> None:
    err = refusal(inputs.funds_cover, 400 * ETH, 400 * ETH, 10**15, NODE)
    assert err.value == NODE
    assert err.reason == (
        "holds 400 ETH, less than the 400 ETH to send plus about 0.001 ETH of gas"
    )


def test_a_node_that_can_pay_passes() -> None:
    inputs.funds_cover(401 * ETH, 400 * ETH, 10**15, NODE)


def test_a_repeated_request_id_must_be_one_of_ours() -> None:
    err = refusal(inputs.request_id, "31337:7:0xabc:commit")
    assert err.param == "--request-id"
    assert "must start with 'cli:'" in err.reason
    assert inputs.request_id("cli:31337:0xabc:pause:1f2e") == "cli:31337:0xabc:pause:1f2e"


@pytest.mark.parametrize(
    ("wei", "text"),
    [(400 * ETH, "400 ETH"), (ETH // 4, "0.25 ETH"), (123, "123 wei"), (0, "0 ETH")],
)
def test_amounts_are_shown_in_eth_down_to_a_millionth(wei: int, text: str) -> None:
    assert inputs.format_wei(wei) == text
