"""The job runner with in-memory ports: every way a job ends, as the outcome a node commits."""

import hashlib
import json

import numpy as np
import pytest

from inference.errors import ArgsUnavailable, ErrorCode, ModelUnavailable, OutOfMemory
from inference.job import Job, Outcome
from inference.job_runner import JobRunner
from inference.outputs import EngineOutput, ImagesOutput, TextOutput
from schemas.codec import Codec
from schemas.phash import phash, phash_png
from schemas.task_args import TaskArgs, TaskKind, args_hash

SD_ARGS = json.dumps(
    {"base_model": "tiny-sd15", "prompt": "a fox", "task_config": {"num_images": 2}}
).encode()
LLM_ARGS = json.dumps(
    {"model": "tiny-gpt2", "messages": [{"role": "user", "content": "hi"}]}
).encode()
NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def job(raw: bytes, kind: TaskKind = TaskKind.SD, digest: bytes | None = None) -> Job:
    return Job(
        job_id=f"31337:7:{NODE}:infer", chain_id=31337, task_id="7", node=NODE, kind=kind,
        args_hash=args_hash(raw) if digest is None else digest, model_ids=("base:tiny-sd15",),
        deadline_ms=2_000_000_000_000, requested_at_ms=1_700_000_000_000,
    )  # fmt: skip


class Relay:
    def __init__(self, raw: bytes | Exception) -> None:
        self.raw = raw
        self.staged: dict[tuple[str, str, int], bytes] = {}

    def fetch_args(self, task_id: str, node: str) -> bytes:
        if isinstance(self.raw, Exception):
            raise self.raw
        return self.raw

    def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
        self.staged[(task_id, node, index)] = data
        return hashlib.sha256(data).hexdigest()


class Engine:
    def __init__(self, output: EngineOutput | Exception) -> None:
        self.output = output
        self.ran: list[TaskArgs] = []

    def run(self, args: TaskArgs) -> EngineOutput:
        self.ran.append(args)
        if isinstance(self.output, Exception):
            raise self.output
        return self.output


def images(*seeds: int) -> ImagesOutput:
    pics = [np.random.default_rng(s).integers(0, 256, (32, 32, 3), dtype=np.uint8) for s in seeds]
    return ImagesOutput(pics, "float16", {"load": 5, "run": 50})


def test_an_sd_result_is_the_images_p_hashes_and_the_pngs_are_staged() -> None:
    relay, output = Relay(SD_ARGS), images(1, 2)
    outcome = JobRunner(relay, relay, Engine(output)).run(job(SD_ARGS))
    assert outcome.result == phash(output.images[0]) + phash(output.images[1])
    assert outcome.error_code is None and outcome.dtype == "float16"
    staged = [relay.staged[("7", NODE, i)] for i in range(2)]
    assert [phash_png(png) for png in staged] == [phash(i) for i in output.images]
    assert outcome.blob_refs == tuple(hashlib.sha256(b).hexdigest() for b in staged)
    assert {"fetch", "load", "run", "hash", "encode", "upload", "total"} <= set(outcome.timings_ms)


def test_an_llm_result_is_the_sha256_of_the_staged_document() -> None:
    relay, document = Relay(LLM_ARGS), b'{"choices":[]}'
    outcome = JobRunner(relay, relay, Engine(TextOutput(document, "float32"))).run(
        job(LLM_ARGS, TaskKind.LLM)
    )
    assert outcome.result == hashlib.sha256(document).digest()
    assert relay.staged[("7", NODE, 0)] == document


def test_arguments_that_do_not_hash_to_args_hash_are_an_error_and_never_run() -> None:
    relay, engine = Relay(SD_ARGS), Engine(images(1))
    outcome = JobRunner(relay, relay, engine).run(job(SD_ARGS, digest=b"\x11" * 32))
    assert outcome.error_code == ErrorCode.ARGS_HASH_MISMATCH
    assert "0x1111" in outcome.reason and engine.ran == []


def test_invalid_arguments_are_an_args_invalid_error_naming_the_field() -> None:
    raw = json.dumps({"base_model": "x", "prompt": "p", "task_config": {"stpes": 3}}).encode()
    relay = Relay(raw)
    outcome = JobRunner(relay, relay, Engine(images(1))).run(job(raw))
    assert outcome.error_code == ErrorCode.ARGS_INVALID
    assert "task_config.stpes" in outcome.reason


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (ModelUnavailable("model 'x' is not in the cache"), ErrorCode.MODEL_UNAVAILABLE),
        (OutOfMemory("cuda ran out of memory"), ErrorCode.OUT_OF_MEMORY),
    ],
)
def test_a_failing_run_is_an_error_outcome_with_its_reason(failure: Exception, code: int) -> None:
    relay = Relay(SD_ARGS)
    outcome = JobRunner(relay, relay, Engine(failure)).run(job(SD_ARGS))
    assert outcome.error_code == code and outcome.reason == str(failure)
    assert outcome.result is None and relay.staged == {}


def test_arguments_the_relay_will_not_give_are_an_error_outcome() -> None:
    relay = Relay(ArgsUnavailable("503 from the relay"))
    outcome = JobRunner(relay, relay, Engine(images(1))).run(job(SD_ARGS))
    assert outcome.error_code == ErrorCode.ARGS_UNAVAILABLE


def test_a_failed_upload_keeps_the_result() -> None:
    class BrokenSink(Relay):
        def stage(self, task_id: str, node: str, index: int, data: bytes) -> str:
            raise ConnectionError("relay down")

    relay = BrokenSink(SD_ARGS)
    output = images(3)
    outcome = JobRunner(relay, relay, Engine(output)).run(job(SD_ARGS))
    assert outcome.result == phash(output.images[0]) and outcome.blob_refs == ()


def test_job_and_outcome_records_round_trip_through_the_codec() -> None:
    codec = Codec()
    original = job(SD_ARGS)
    _, record = codec.decode(codec.encode("InferenceJob", original.to_record()))
    assert Job.from_record(record) == original
    outcome = Outcome(original, None, 5, dtype=None, timings_ms={"total": 3})
    _, result = codec.decode(codec.encode("InferenceResult", outcome.to_record(1_700_000_000_123)))
    assert result["error_code"] == 5 and result["result"] is None
    assert result["timings_ms"] == {"total": 3}


def test_an_outcome_with_both_a_result_and_an_error_is_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        Outcome(job(SD_ARGS), b"\x00" * 8, 1)


def test_any_failure_to_get_the_arguments_is_args_unavailable() -> None:
    relay = Relay(KeyError("7"))
    outcome = JobRunner(relay, relay, Engine(images(1))).run(job(SD_ARGS))
    assert outcome.error_code == ErrorCode.ARGS_UNAVAILABLE
