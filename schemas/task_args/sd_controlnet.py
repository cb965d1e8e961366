"""ControlNet arguments: the model, the conditioning image and how to preprocess it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from schemas.task_args.extra_args import ArgKind, ArgValue, checked_args
from schemas.task_args.fields import NonEmptyStr, Percent, StrictModel

# Every preprocessor Crynux defines (sd_task task_args/inference_task/controlnet_args.py), each
# with the arguments it takes. Crynux's own union leaves out `softedge_hed` and `dwpose` though it
# defines them; we take them, so that every Crynux task is still one of ours.
_PIDINET: dict[str, ArgKind] = {"apply_filter": "bool"}
_LERES: dict[str, ArgKind] = {"thr_a": "int", "thr_b": "int"}
PREPROCESS_ARGS: dict[str, dict[str, ArgKind]] = {
    "canny": {"low_threshold": "int", "high_threshold": "int"},
    "scribble_hed": {},
    "softedge_hed": {},
    "scribble_hedsafe": {},
    "softedge_hedsafe": {},
    "depth_midas": {},
    "mlsd": {"thr_v": "number", "thr_d": "number"},
    "openpose": {},
    "openpose_face": {},
    "openpose_faceonly": {},
    "openpose_full": {},
    "openpose_hand": {},
    "dwpose": {},
    "scribble_pidinet": _PIDINET,
    "softedge_pidinet": _PIDINET,
    "scribble_pidisafe": _PIDINET,
    "softedge_pidisafe": _PIDINET,
    "normal_bae": {},
    "lineart_coarse": {},
    "lineart_realistic": {},
    "lineart_anime": {},
    "depth_zoe": {"gamma_corrected": "bool"},
    "depth_leres": _LERES,
    "depth_leres++": _LERES,
    "shuffle": {"h": "int", "w": "int", "f": "int"},
    "mediapipe_face": {"max_faces": "int", "min_confidence": "number"},
}

PreprocessMethod = Literal[
    "canny",
    "scribble_hed",
    "softedge_hed",
    "scribble_hedsafe",
    "softedge_hedsafe",
    "depth_midas",
    "mlsd",
    "openpose",
    "openpose_face",
    "openpose_faceonly",
    "openpose_full",
    "openpose_hand",
    "dwpose",
    "scribble_pidinet",
    "softedge_pidinet",
    "scribble_pidisafe",
    "softedge_pidisafe",
    "normal_bae",
    "lineart_coarse",
    "lineart_realistic",
    "lineart_anime",
    "depth_zoe",
    "depth_leres",
    "depth_leres++",
    "shuffle",
    "mediapipe_face",
]

_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]+=*", re.IGNORECASE)


class Preprocess(StrictModel):
    """How the conditioning image is turned into a control map before generation."""

    method: PreprocessMethod
    args: dict[str, ArgValue] = Field(default_factory=dict)

    @field_validator("args", mode="before")
    @classmethod
    def _known_args(cls, args: object, info: ValidationInfo) -> object:
        method = info.data.get("method")
        if method is None or not (args is None or isinstance(args, dict)):
            return args
        return checked_args(method, args, PREPROCESS_ARGS[method])


class ControlNet(StrictModel):
    model: NonEmptyStr
    variant: str | None = None
    image_dataurl: str = Field(
        description="The conditioning image as a data URL: data:image/png;base64,…"
    )
    weight: Percent = 70
    preprocess: Preprocess | None = None

    @field_validator("image_dataurl")
    @classmethod
    def _is_image_data_url(cls, value: str) -> str:
        # A ControlNet task without its image cannot run: refuse it here, not on three GPUs.
        if not _DATA_URL.fullmatch(value):
            raise ValueError("must be an image data URL: data:image/<type>;base64,<data>")
        return value
