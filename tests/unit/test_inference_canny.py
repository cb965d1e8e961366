import numpy as np
import pytest
from PIL import Image

from inference.pipelines.canny import canny, canny_edges


def square(side: int = 32) -> Image.Image:
    pixels = np.zeros((side, side), dtype=np.uint8)
    pixels[8:24, 8:24] = 255
    return Image.fromarray(pixels).convert("RGB")


def test_the_edges_of_a_square_are_its_outline() -> None:
    edges = np.asarray(canny(square()))[:, :, 0]
    assert edges[16, 16] == 0  # inside
    assert edges[2, 2] == 0  # outside
    assert edges[16, 7:9].max() == 255  # the left side
    assert edges[7:9, 16].max() == 255  # the top side


def test_a_flat_image_has_no_edges() -> None:
    flat = np.full((16, 16), 128, dtype=np.int32)
    assert canny_edges(flat, 100, 200).max() == 0


def test_weak_edges_survive_only_when_connected_to_strong_ones() -> None:
    pixels = np.zeros((32, 32), dtype=np.int32)
    pixels[:, 16:] = 60  # a step of 60: |gx| + |gy| = 4 * 60 = 240 across it
    low_only = canny_edges(pixels, 100, 300)  # weak everywhere, strong nowhere
    both = canny_edges(pixels, 100, 200)
    assert low_only.max() == 0
    assert both.max() == 255


def test_the_result_is_the_same_rgb_size_as_the_input() -> None:
    out = canny(Image.new("RGB", (40, 24)))
    assert out.size == (40, 24) and out.mode == "RGB"


def test_thresholds_out_of_order_are_refused_naming_them() -> None:
    with pytest.raises(ValueError, match="low=200 high=100"):
        canny(square(), 200, 100)
