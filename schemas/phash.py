"""The SD result hash: one 8-byte perceptual hash per image, for nodes and relay alike.

A node hashes the pixels it generated; the relay hashes the PNG the delivering node uploaded.
Both call `phash` here, so the same pixels give the same bits: PNG is lossless, and every step
below is deterministic (Pillow's resampling works in fixed-point integers; the DCT is float64,
where only a coefficient within rounding of the median could flip, and the agreement threshold
absorbs a bit or two anyway).

The hash is imagehash's `phash` (the standard DCT p-hash): the image to grayscale ("L", ITU-R
601-2 luma), resized to 32x32 with LANCZOS, a 2-D DCT-II, the top-left 8x8 coefficients
(lowest frequencies), each compared with their median. Its 8x8 boolean array is flattened row
by row and packed most significant bit first:

    byte 0 bit 7 (0x80) = coefficient (0, 0)   ...   byte 7 bit 0 (0x01) = coefficient (7, 7)

so the 8 bytes read as a big-endian integer are the bits in row-major order, and `.hex()` is
imagehash's own `str(hash)`. ResultCompare.sol reads each 8-byte word big-endian; Hamming
distance does not depend on the order, but a result is a byte string and must be the same one
on every machine.
"""

from __future__ import annotations

import io

import imagehash
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from schemas.commitment import PHASH_BYTES

MAX_THRESHOLD = 255
"""The contract's threshold is a uint8."""

__all__ = ["PHASH_BYTES", "hamming", "phash", "phash_png", "results_agree", "split_result"]


def phash(pixels: NDArray[np.uint8] | Image.Image) -> bytes:
    """The 8-byte p-hash of an image: an HxWx3 uint8 RGB array (what a pipeline returns after
    `(images * 255).round().astype("uint8")`) or a PIL image (read as RGB)."""
    image = _rgb_image(pixels)
    bits = imagehash.phash(image).hash
    return np.packbits(np.asarray(bits, dtype=bool).flatten()).tobytes()


def phash_png(data: bytes) -> bytes:
    """The p-hash of a PNG file's image. Only PNG: results are uploaded as PNG, and a lossy
    format would hash a different image than the one the nodes agreed on."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            return phash(image)
    except UnidentifiedImageError as exc:
        raise ValueError(f"not a PNG image ({len(data)} bytes, starting {data[:8]!r})") from exc
    except Image.DecompressionBombError as exc:
        raise ValueError(f"a PNG image too large to hash: {exc}") from exc
    except (OSError, SyntaxError) as exc:  # Pillow reports a broken PNG with either
        raise ValueError(f"a broken PNG image ({len(data)} bytes): {exc}") from exc


def hamming(a: bytes, b: bytes) -> int:
    """The number of bits in which `a` and `b` (of equal length) differ."""
    if len(a) != len(b):
        raise ValueError(f"hashes of different lengths: {len(a)} and {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def split_result(result: bytes) -> list[bytes]:
    """An SD result cut into its per-image p-hashes, in image order."""
    if len(result) % PHASH_BYTES:
        raise ValueError(
            f"an SD result is {PHASH_BYTES} bytes per image; got {len(result)} bytes, "
            f"not a multiple of {PHASH_BYTES}"
        )
    return [result[i : i + PHASH_BYTES] for i in range(0, len(result), PHASH_BYTES)]


def results_agree(a: bytes, b: bytes, threshold: int) -> bool:
    """Whether two disclosed SD results agree, as `ResultCompare.agree` decides for an SD task:
    as many images, and each image's Hamming distance at most `threshold` bits. Results of
    different lengths disagree; one-byte results are error reports, which agree only when equal.
    """
    if not 0 <= threshold <= MAX_THRESHOLD:
        raise ValueError(f"threshold is a uint8 on chain (0..{MAX_THRESHOLD}), got {threshold}")
    if len(a) != len(b):
        return False
    if len(a) == 1:
        return a == b
    return all(
        hamming(x, y) <= threshold for x, y in zip(split_result(a), split_result(b), strict=True)
    )


def _rgb_image(pixels: NDArray[np.uint8] | Image.Image) -> Image.Image:
    if isinstance(pixels, Image.Image):
        return pixels if pixels.mode == "RGB" else pixels.convert("RGB")
    array = np.asarray(pixels)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(
            f"pixels must be an HxWx3 uint8 RGB array, got shape {array.shape} of {array.dtype}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"pixels must hold at least one pixel, got shape {array.shape}")
    return Image.fromarray(np.ascontiguousarray(array))
