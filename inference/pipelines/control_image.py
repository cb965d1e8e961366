"""A ControlNet's conditioning image: decoded from its data URL, then preprocessed."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from inference.errors import ArgsUnsupported
from inference.pipelines.canny import canny
from schemas.task_args import Preprocess, TaskArgsInvalid

FIELD = "controlnet.image_dataurl"
MAX_PIXELS = 4096 * 4096


def control_image(data_url: str, preprocess: Preprocess | None) -> Image.Image:
    """The RGB control map for `data_url`; preprocessors other than canny are ArgsUnsupported."""
    image = decode_data_url(data_url)
    if preprocess is None:
        return image
    if preprocess.method == "canny":
        try:
            return canny(image, **preprocess.args)  # type: ignore[arg-type]
        except ValueError as exc:
            raise TaskArgsInvalid("controlnet.preprocess.args", preprocess.args, str(exc)) from exc
    raise ArgsUnsupported(
        f"ControlNet preprocessor {preprocess.method!r} is not implemented on this node "
        "(it runs: canny, or no preprocessing)"
    )


def decode_data_url(data_url: str) -> Image.Image:
    _, _, payload = data_url.partition(",")
    try:
        image = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError) as exc:
        raise TaskArgsInvalid(FIELD, None, f"is not a readable image: {exc}") from exc
    with image:
        if image.width * image.height > MAX_PIXELS:
            raise TaskArgsInvalid(
                FIELD, None, f"image is {image.width}x{image.height}, over {MAX_PIXELS} pixels"
            )
        try:
            return image.convert("RGB")
        except (ValueError, OSError) as exc:  # a truncated or broken file fails only here
            raise TaskArgsInvalid(FIELD, None, f"is not a readable image: {exc}") from exc
