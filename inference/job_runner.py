"""One job, from its task id to the result a node commits: no Kafka here, only the ports.

Steps:
1. Fetch the arguments from the relay, as the job's node.
2. Check keccak256(arguments) == the task's argsHash: a relay that changed them is caught
   before any GPU time is spent.
3. Parse them (`schemas.task_args`, the parser the relay used when they were put).
4. Run the models.
5. Hash the result: one 8-byte p-hash per image, from the pixels (`schemas.phash`, which the
   relay uses too); for an LLM, the sha256 of the response document.
6. Stage the images (PNG) or the document on the relay, for delivery if this node is chosen.

A failure at any step is an error outcome with its code (`inference.errors`), never an
exception: the saga commits the code, and an honest node that cannot run a task says so.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from inference.errors import ArgsHashMismatch, ArgsUnavailable, ErrorCode, InferenceError
from inference.job import Job, Outcome
from inference.outputs import EngineOutput, ImagesOutput
from inference.ports import ArgsSource, ResultSink, Runner
from schemas.phash import phash
from schemas.task_args import TaskArgsInvalid, args_hash, parse_task_args

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(
        self,
        args_source: ArgsSource,
        sink: ResultSink,
        runner: Runner,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._args = args_source
        self._sink = sink
        self._runner = runner
        self._clock = clock

    def run(self, job: Job) -> Outcome:
        timings: dict[str, int] = {}
        started = self._clock()
        try:
            output = self._run(job, timings)
        except InferenceError as exc:
            return self._failed(job, exc.code, str(exc), timings, started)
        except TaskArgsInvalid as exc:
            return self._failed(job, ErrorCode.ARGS_INVALID, str(exc), timings, started)
        timings.update(output.timings_ms)
        mark = self._clock()
        result = result_of(output)
        timings["hash"] = _ms(self._clock() - mark)
        mark = self._clock()
        blobs = blobs_of(output)
        timings["encode"] = _ms(self._clock() - mark)
        mark = self._clock()
        refs = self._stage(job, blobs)
        timings["upload"] = _ms(self._clock() - mark)
        timings["total"] = _ms(self._clock() - started)
        return Outcome(job, result, None, dtype=output.dtype, timings_ms=timings, blob_refs=refs)

    def _run(self, job: Job, timings: dict[str, int]) -> EngineOutput:
        mark = self._clock()
        try:
            raw = self._args.fetch_args(job.task_id, job.node)
        except InferenceError:
            raise
        except Exception as exc:  # whatever the relay client raised: no arguments, no run
            raise ArgsUnavailable(f"no arguments for task {job.task_id}: {exc!r}") from exc
        timings["fetch"] = _ms(self._clock() - mark)
        digest = args_hash(raw)
        if digest != job.args_hash:
            raise ArgsHashMismatch(
                f"keccak256 of the relay's arguments is 0x{digest.hex()}, the task's argsHash "
                f"is 0x{job.args_hash.hex()}"
            )
        args = parse_task_args(job.kind, raw)
        return self._runner.run(args)

    def _stage(self, job: Job, blobs: list[bytes]) -> tuple[str, ...]:
        refs = []
        for index, blob in enumerate(blobs):
            try:
                refs.append(self._sink.stage(job.task_id, job.node, index, blob))
            except Exception as exc:  # the result stands; only delivery may fail later
                log.error(
                    "staging failed task_id=%s node=%s index=%d: %s; the result is published "
                    "anyway, delivery of this node's images will fail",
                    job.task_id, job.node, index, exc,
                )  # fmt: skip
                break
        return tuple(refs)

    def _failed(
        self, job: Job, code: ErrorCode, reason: str, timings: dict[str, int], started: float
    ) -> Outcome:
        timings["total"] = _ms(self._clock() - started)
        log.warning(
            "job failed job_id=%s task_id=%s node=%s code=%d (%s): %s",
            job.job_id, job.task_id, job.node, code, code.name, reason,
        )  # fmt: skip
        return Outcome(job, None, int(code), reason=reason, timings_ms=timings)


def result_of(output: EngineOutput) -> bytes:
    """What the node commits: the images' p-hashes (from the pixels, before any encoding),
    or the sha256 of the LLM's response document."""
    if isinstance(output, ImagesOutput):
        return b"".join(phash(image) for image in output.images)
    return hashlib.sha256(output.document).digest()


def blobs_of(output: EngineOutput) -> list[bytes]:
    """What the node stages on the relay: PNG images (lossless, so the relay's p-hash of the
    file is the node's), or the response document."""
    if isinstance(output, ImagesOutput):
        return [png(image) for image in output.images]
    return [output.document]


def png(pixels: NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
