"""What running a task gives, before it is hashed and uploaded (no torch needed to read it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ImagesOutput:
    """An SD task's images, HxWx3 uint8 RGB each, in the order the seed made them."""

    images: list[NDArray[np.uint8]]
    dtype: str  # the dtype the models actually ran in, e.g. "float16"
    timings_ms: dict[str, int] = field(default_factory=dict)  # e.g. {"load": 12, "run": 840}


@dataclass(frozen=True)
class TextOutput:
    """An LLM task's response document: canonical JSON (its sha256 is the result)."""

    document: bytes
    dtype: str
    timings_ms: dict[str, int] = field(default_factory=dict)


EngineOutput = ImagesOutput | TextOutput
