"""The node's models: a task's arguments in, its images or response out.

The engine finds each model through the model store, keeps what it loaded warm (a
`WarmCache` bounded by bytes, so a second task on the same model does not load it again), runs
the task with `inference.pipelines`, and turns every failure into an `InferenceError` with
the code the node reports. It runs one task at a time: LoRA adapters and textual inversions
change shared, warm modules for the duration of a task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import torch

from inference.errors import InferenceError, OutOfMemory, RunFailed
from inference.model_store import ModelRole, ModelStore
from inference.outputs import EngineOutput, ImagesOutput, TextOutput
from inference.pipelines import loaders
from inference.pipelines.chat import canonical_json, chat
from inference.pipelines.determinism import dtype_name, execution_dtype
from inference.pipelines.sd_adapters import WarmPipeline
from inference.pipelines.sd_family import SDXL_REFINER, family_of
from inference.pipelines.text_to_image import SDModels, generate
from inference.warm_cache import CacheStats, WarmCache
from schemas.task_args import LLMTaskArgs, SDTaskArgs, TaskArgs, TaskArgsInvalid

log = logging.getLogger(__name__)

T = TypeVar("T")


class Engine:
    def __init__(self, store: ModelStore, *, device: torch.device, cache_budget_bytes: int) -> None:
        self.store = store
        self.device = device
        self._cache: WarmCache[Hashable, Any] = WarmCache(
            cache_budget_bytes, _size_of, on_evict=lambda key, value: self._released()
        )

    def run(self, args: TaskArgs) -> EngineOutput:
        """Run `args`; raises InferenceError (with its code) or TaskArgsInvalid."""
        try:
            if isinstance(args, SDTaskArgs):
                return self._run_sd(args)
            return self._run_llm(args)
        except (InferenceError, TaskArgsInvalid):
            raise
        except torch.OutOfMemoryError as exc:
            self._after_out_of_memory()
            raise OutOfMemory(f"{self.device} ran out of memory: {exc}") from exc
        except RuntimeError as exc:
            if "out of memory" in str(exc) or "can't allocate memory" in str(exc):
                self._after_out_of_memory()
                raise OutOfMemory(f"{self.device} ran out of memory: {exc}") from exc
            raise RunFailed(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # a model's failure is a task's error, never the node's crash
            raise RunFailed(f"{type(exc).__name__}: {exc}") from exc

    def cache_stats(self) -> CacheStats:
        return self._cache.stats()

    # ---- SD ----

    def _run_sd(self, args: SDTaskArgs) -> ImagesOutput:
        started = time.perf_counter()
        dtype = execution_dtype(args.dtype, self.device)
        models = self._sd_models(args, dtype)
        loaded = time.perf_counter()
        with torch.inference_mode():
            images = generate(args, models)
        done = time.perf_counter()
        return ImagesOutput(images, dtype_name(dtype), _timings(started, loaded, done))

    def _sd_models(self, args: SDTaskArgs, dtype: torch.dtype) -> SDModels:
        base_ref = args.base_model
        base_path = self._path(base_ref.name, ModelRole.PIPELINE, variant=base_ref.variant)
        base: WarmPipeline = self._cached(
            ("pipeline", base_path, base_ref.variant, dtype),
            lambda: _warm(loaders.load_pipeline(base_path, dtype, self.device, base_ref.variant)),
        )
        models: dict[str, Any] = {"base": base}
        if args.unet:
            path = self._path(args.unet, ModelRole.COMPONENT)
            models["unet"] = self._cached(
                ("unet", path, dtype), lambda: loaders.load_unet(path, dtype, self.device)
            )
        if args.vae:
            path = self._path(args.vae, ModelRole.COMPONENT)
            models["vae"] = self._cached(
                ("vae", path, dtype), lambda: loaders.load_vae(path, dtype, self.device)
            )
        if args.controlnet:
            cn = args.controlnet
            path = self._path(cn.model, ModelRole.COMPONENT, variant=cn.variant)
            models["controlnet"] = self._cached(
                ("controlnet", path, cn.variant, dtype),
                lambda: loaders.load_controlnet(path, dtype, self.device, cn.variant),
            )
        if args.refiner:
            ref = args.refiner
            path = self._path(ref.model, ModelRole.PIPELINE, variant=ref.variant)
            refiner = self._cached(
                ("refiner", path, ref.variant, dtype),
                lambda: loaders.load_pipeline(path, dtype, self.device, ref.variant),
            )
            if not isinstance(refiner, SDXL_REFINER):
                raise TaskArgsInvalid("refiner.model", ref.model, f"is a {type(refiner).__name__}, not an SDXL refiner")  # fmt: skip
            models["refiner"] = refiner
        if args.lora:
            models["lora"] = self._path(args.lora.model, ModelRole.WEIGHTS, weight_file=args.lora.weight_file_name)  # fmt: skip
        if args.textual_inversion:
            models["textual_inversion"] = self._path(args.textual_inversion, ModelRole.WEIGHTS)
        return SDModels(**models)

    # ---- LLM ----

    def _run_llm(self, args: LLMTaskArgs) -> TextOutput:
        started = time.perf_counter()
        path = self._path(args.model, ModelRole.LLM)
        dtype = execution_dtype(args.dtype, self.device, loaders.model_dtype_of(path))
        model, tokenizer = self._cached(
            ("llm", path, dtype), lambda: loaders.load_causal_lm(path, dtype, self.device)
        )
        loaded = time.perf_counter()
        document = canonical_json(chat(model, tokenizer, args))
        done = time.perf_counter()
        return TextOutput(document, dtype_name(dtype), _timings(started, loaded, done))

    # ---- shared ----

    def _path(
        self,
        name: str,
        role: ModelRole,
        *,
        variant: str | None = None,
        weight_file: str | None = None,
    ) -> Path:
        return self.store.locate(name, role, variant=variant, weight_file=weight_file).path

    def _cached(self, key: Hashable, load: Callable[[], T]) -> T:
        return self._cache.get(key, load)  # type: ignore[no-any-return]

    def _released(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _after_out_of_memory(self) -> None:
        # What is warm may be why the task did not fit; the next task loads what it needs.
        self._cache.clear()
        self._released()


def _warm(pipeline: Any) -> WarmPipeline:
    return WarmPipeline(pipeline, family_of(pipeline))


def _size_of(value: Any) -> int:
    return loaders.bytes_held(value.pipeline if isinstance(value, WarmPipeline) else value)


def _timings(started: float, loaded: float, done: float) -> dict[str, int]:
    return {"load": round((loaded - started) * 1000), "run": round((done - loaded) * 1000)}
