"""The SD result hash: the same bits from pixels and from their PNG, robust to small changes."""

from __future__ import annotations

import io
import itertools

import imagehash
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image, ImageEnhance

from schemas.phash import PHASH_BYTES, hamming, phash, phash_png, results_agree, split_result


def smooth_image(seed: int, size: tuple[int, int] = (192, 256)) -> NDArray[np.uint8]:
    """A photo-like image: random colours at 16x16, upscaled smoothly."""
    coarse = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    height, width = size
    image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image)


def pattern_image() -> NDArray[np.uint8]:
    """A fixed image computed from a formula, for a pinned hash."""
    y, x = np.mgrid[0:96, 0:128].astype(np.float64)
    red = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0)
    green = 255 * x / 127
    blue = 255 * (1 - y / 95)
    return np.clip(np.stack([red, green, blue], -1).round(), 0, 255).astype(np.uint8)


def encoded(pixels: NDArray[np.uint8], fmt: str = "PNG", **options: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **options)
    return buffer.getvalue()


def test_a_known_image_has_a_pinned_hash() -> None:
    assert phash(pattern_image()).hex() == "a887f8f807f807b8"


@pytest.mark.parametrize("seed", range(5))
def test_the_hash_is_imagehash_phash_packed_row_major_msb_first(seed: int) -> None:
    pixels = smooth_image(seed)
    digest = phash(pixels)
    assert len(digest) == PHASH_BYTES
    bits = imagehash.phash(Image.fromarray(pixels)).hash.flatten()
    assert [int(b) for b in bits] == [int(c) for c in format(int.from_bytes(digest, "big"), "064b")]
    assert digest.hex() == str(imagehash.phash(Image.fromarray(pixels)))


@pytest.mark.parametrize("seed", range(5))
def test_the_png_of_an_array_hashes_as_the_array(seed: int) -> None:
    pixels = smooth_image(seed, size=(512, 512))
    assert phash_png(encoded(pixels)) == phash(pixels)
    assert phash(Image.fromarray(pixels)) == phash(pixels)


def test_a_png_with_alpha_or_a_palette_hashes_as_its_rgb_pixels() -> None:
    pixels = pattern_image()
    rgba = np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    assert phash_png(buffer.getvalue()) == phash(pixels)


@pytest.mark.parametrize("seed", range(8))
def test_a_slightly_brightened_image_stays_close(seed: int) -> None:
    pixels = smooth_image(seed)
    brighter = ImageEnhance.Brightness(Image.fromarray(pixels)).enhance(1.1)
    assert hamming(phash(pixels), phash(brighter)) <= 4


@pytest.mark.parametrize("seed", range(8))
def test_a_jpeg_recompressed_image_stays_close(seed: int) -> None:
    pixels = smooth_image(seed)
    with Image.open(io.BytesIO(encoded(pixels, "JPEG", quality=50))) as jpeg:
        assert hamming(phash(pixels), phash(jpeg)) <= 6


@pytest.mark.parametrize("seed", range(8))
def test_light_pixel_noise_stays_close(seed: int) -> None:
    # What two GPUs computing the same image in slightly different float order may produce.
    pixels = smooth_image(seed)
    noise = np.random.default_rng(100 + seed).integers(-12, 13, pixels.shape)
    noisy = np.clip(pixels.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    assert hamming(phash(pixels), phash(noisy)) <= 4


def test_unrelated_images_are_far_apart() -> None:
    hashes = [phash(smooth_image(seed)) for seed in range(12)]
    distances = [hamming(a, b) for a, b in itertools.combinations(hashes, 2)]
    assert sum(distances) / len(distances) > 10
    assert min(distances) > 6


def test_non_image_bytes_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"not a PNG image \(11 bytes, starting b'not a pn'\)"):
        phash_png(b"not a png!!")


def test_a_truncated_png_is_refused() -> None:
    data = encoded(pattern_image())
    with pytest.raises(ValueError, match="broken PNG"):
        phash_png(data[: len(data) // 2])


def test_a_jpeg_is_not_taken_for_a_png() -> None:
    with pytest.raises(ValueError, match="not a PNG image"):
        phash_png(encoded(pattern_image(), "JPEG"))


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((8, 8), np.uint8),
        np.zeros((8, 8, 4), np.uint8),
        np.zeros((8, 8, 3), np.float32),
        np.zeros((0, 8, 3), np.uint8),
    ],
    ids=["gray", "rgba", "float", "empty"],
)
def test_pixels_must_be_an_rgb_uint8_array(pixels: NDArray[np.uint8]) -> None:
    with pytest.raises(ValueError, match="pixels must"):
        phash(pixels)


def test_hamming_counts_differing_bits() -> None:
    assert hamming(b"\x00" * 8, b"\x00" * 8) == 0
    assert hamming(b"\xff" * 8, b"\x00" * 8) == 64
    assert hamming(bytes.fromhex("8000000000000001"), bytes(8)) == 2
    with pytest.raises(ValueError, match="different lengths"):
        hamming(b"\x00", b"\x00\x00")


def test_split_result_cuts_one_hash_per_image() -> None:
    assert split_result(bytes(range(16))) == [bytes(range(8)), bytes(range(8, 16))]
    assert split_result(b"") == []
    with pytest.raises(ValueError, match="got 9 bytes, not a multiple of 8"):
        split_result(bytes(9))


def test_results_agree_per_image_not_in_total() -> None:
    a = bytes(16)
    two_bits_each = bytes.fromhex("03000000000000000000000000000003")
    four_bits_in_one = bytes.fromhex("0f000000000000000000000000000000")
    assert results_agree(a, two_bits_each, 2)
    assert not results_agree(a, four_bits_in_one, 3)
    assert results_agree(a, four_bits_in_one, 4)


def test_results_of_different_lengths_disagree() -> None:
    assert not results_agree(bytes(8), bytes(16), 64)


def test_error_reports_agree_only_when_equal() -> None:
    assert results_agree(b"\x05", b"\x05", 0)
    assert not results_agree(b"\x05", b"\x04", 64)


def test_threshold_is_a_uint8() -> None:
    with pytest.raises(ValueError, match="uint8"):
        results_agree(bytes(8), bytes(8), 256)


def _independent_agree(threshold: int, a: bytes, b: bytes) -> bool:
    """ResultCompare.agree for an SD task, written out bit by bit."""
    if len(a) != len(b):
        return False
    if len(a) == 1:
        return a == b
    for i in range(0, len(a), 8):
        bits = sum(bin(x ^ y).count("1") for x, y in zip(a[i : i + 8], b[i : i + 8], strict=True))
        if bits > threshold:
            return False
    return True


@given(
    pair=st.integers(1, 10).flatmap(
        lambda n: st.tuples(st.binary(min_size=8 * n, max_size=8 * n), st.binary(min_size=8 * n))
    ),
    threshold=st.integers(0, 64),
    flips=st.lists(st.integers(0, 63), max_size=8),
)
def test_results_agree_matches_the_contract_rule(
    pair: tuple[bytes, bytes], threshold: int, flips: list[int]
) -> None:
    a, other = pair
    # Half the time a near copy of `a`, so that both answers come up.
    b = other[: len(a)] if len(other) >= len(a) and len(flips) % 2 else _flipped(a, flips)
    assert results_agree(a, b, threshold) == _independent_agree(threshold, a, b)


def _flipped(result: bytes, bits: list[int]) -> bytes:
    word = int.from_bytes(result[:8], "big")
    for bit in bits:
        word ^= 1 << bit
    return word.to_bytes(8, "big") + result[8:]
