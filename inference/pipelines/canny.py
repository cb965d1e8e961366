"""The canny ControlNet preprocessor, in numpy: the edges of the conditioning image.

It follows OpenCV's `cv2.Canny(image, low, high)` (what Crynux's preprocessor calls): no
blur, 3x3 Sobel gradients, the L1 magnitude |gx| + |gy|, non-maximum suppression along the
gradient direction quantized to 0/45/90/135 degrees, and hysteresis (a weak edge pixel is kept
when it is 8-connected to a strong one). The arithmetic is integer up to the thresholds, so
every node draws the same edges from the same image, bit for bit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

DEFAULT_LOW = 100
DEFAULT_HIGH = 200

# tan(22.5°) and tan(67.5°) in fixed point (<< 15), as OpenCV compares directions.
_TAN22 = 13573
_SHIFT = 15


def canny(
    image: Image.Image, low_threshold: int = DEFAULT_LOW, high_threshold: int = DEFAULT_HIGH
) -> Image.Image:
    """A black RGB image with the edges of `image` in white, the size of `image`."""
    if not 0 <= low_threshold <= high_threshold:
        raise ValueError(
            f"canny thresholds must satisfy 0 <= low <= high, got low={low_threshold} "
            f"high={high_threshold}"
        )
    gray = np.asarray(image.convert("L"), dtype=np.int32)
    edges = canny_edges(gray, low_threshold, high_threshold)
    return Image.fromarray(np.repeat(edges[:, :, None], 3, axis=2))


def canny_edges(gray: NDArray[np.int32], low: int, high: int) -> NDArray[np.uint8]:
    """Edge map (0 or 255) of a 2-D intensity array."""
    gx, gy = _sobel(gray)
    magnitude = np.abs(gx) + np.abs(gy)
    thin = _non_maximum_suppression(magnitude, gx, gy)
    weak = thin > low
    strong = thin > high
    labels, count = ndimage.label(weak, structure=np.ones((3, 3), dtype=bool))
    keep = np.zeros(count + 1, dtype=bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def _sobel(gray: NDArray[np.int32]) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    p = np.pad(gray, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return gx, gy


def _non_maximum_suppression(
    magnitude: NDArray[np.int32], gx: NDArray[np.int32], gy: NDArray[np.int32]
) -> NDArray[np.int32]:
    """`magnitude` where it is a local maximum across the edge, 0 elsewhere."""
    m = np.pad(magnitude, 1, mode="constant")
    centre = m[1:-1, 1:-1]

    def at(dy: int, dx: int) -> NDArray[np.int32]:
        return m[1 + dy : m.shape[0] - 1 + dy, 1 + dx : m.shape[1] - 1 + dx]

    ax, ay = np.abs(gx).astype(np.int64), np.abs(gy).astype(np.int64)
    tg22 = ax * _TAN22
    tg67 = tg22 + (ax << (_SHIFT + 1))
    ay_shifted = ay << _SHIFT
    horizontal = ay_shifted < tg22  # gradient along x: compare left and right
    vertical = ay_shifted > tg67  # gradient along y: compare up and down
    diagonal = ~horizontal & ~vertical
    same_sign = (gx ^ gy) >= 0
    # Ties are broken as OpenCV breaks them: along an axis, strictly greater than the neighbour
    # before and not smaller than the one after; along a diagonal, strictly greater than both.
    keep = np.zeros(magnitude.shape, dtype=bool)
    keep |= horizontal & (centre > at(0, -1)) & (centre >= at(0, 1))
    keep |= vertical & (centre > at(-1, 0)) & (centre >= at(1, 0))
    keep |= diagonal & same_sign & (centre > at(-1, -1)) & (centre > at(1, 1))
    keep |= diagonal & ~same_sign & (centre > at(-1, 1)) & (centre > at(1, -1))
    return np.where(keep, magnitude, 0).astype(np.int32)
