"""Where a model named by a task lies on this machine, fetching it first when it may.

A task names a model the way Crynux does; the store turns the name into a local path:

    name                                  looked up as                     fetched with
    https://civitai.com/api/download/…    a URL (`#sha256=<hex>` checks it) `download` (resumable)
    tiny/sd15                             a folder or file under one of     nothing: it is there
                                          the node's model directories
    runwayml/stable-diffusion-v1-5        a Hugging Face repo id            the hub, into the HF cache

A local name is relative and stays inside its model directory (no absolute paths, no `..`):
the arguments come from strangers. With `offline` (HF_HUB_OFFLINE) the hub is not asked; a
repo missing from the cache is a `ModelUnavailable` that says so. Only safetensors weights are
fetched: the pickle formats run code when loaded.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Literal

import httpx

from inference.download import DownloadPolicy, ProgressFactory, download
from inference.errors import ModelUnavailable

log = logging.getLogger(__name__)

_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
_PICKLE_FORMATS = ["*.bin", "*.ckpt", "*.pt", "*.pth", "*.pkl", "*.msgpack", "*.h5", "*.onnx*"]
_CONFIG_FILES = ["*.json", "*.txt", "*.model", "*.jinja"]


class ModelRole(StrEnum):
    PIPELINE = "pipeline"  # a diffusers pipeline: base model, refiner
    COMPONENT = "component"  # one diffusers model: VAE, UNet, ControlNet
    WEIGHTS = "weights"  # a weights file: LoRA, textual inversion
    LLM = "llm"  # a transformers causal LM with its tokenizer


@dataclass(frozen=True)
class ModelSource:
    name: str  # as the task wrote it
    path: Path  # a local folder, or a file for a URL's weights or a named weight file
    origin: Literal["local", "url", "hub"]


class ModelStore:
    def __init__(
        self,
        *,
        model_dirs: tuple[Path, ...] = (),
        download_dir: Path,
        offline: bool,
        http: httpx.Client | None = None,
        hub_cache_dir: Path | None = None,
        progress: ProgressFactory | None = None,
        download_policy: DownloadPolicy = DownloadPolicy(),  # noqa: B008 (frozen)
    ) -> None:
        self.model_dirs = tuple(model_dirs)
        self.download_dir = download_dir
        self.offline = offline
        self._http = http
        self._hub_cache_dir = hub_cache_dir
        self._progress = progress
        self._policy = download_policy
        # A hub lookup costs HTTP round trips even when the files are cached: ask once.
        self._located: dict[tuple[str, ModelRole, str | None, str | None], ModelSource] = {}

    def locate(
        self,
        name: str,
        role: ModelRole,
        *,
        variant: str | None = None,
        weight_file: str | None = None,
    ) -> ModelSource:
        """The local path of model `name`, fetching it if it is not here and may be fetched.

        `variant` picks weight files such as `*.fp16.safetensors`; `weight_file` names the one
        file of a LoRA repo to use. Raises ModelUnavailable (DownloadFailed for a bad download).
        """
        key = (name, role, variant, weight_file)
        found = self._located.get(key)
        if found is None:
            found = self._locate(name, role, variant, weight_file)
            self._located[key] = found
            log.info("model located name=%s role=%s origin=%s path=%s", name, role, found.origin, found.path)  # fmt: skip
        return found

    def _locate(
        self, name: str, role: ModelRole, variant: str | None, weight_file: str | None
    ) -> ModelSource:
        if name.startswith(("http://", "https://")):
            return ModelSource(name, self._download(name), "url")
        local = self._local(name, weight_file)
        if local is not None:
            return ModelSource(name, local, "local")
        if not _REPO_ID.fullmatch(name):
            raise ModelUnavailable(
                f"model {name!r} is not under the model directories "
                f"({', '.join(map(str, self.model_dirs)) or 'none'}), and is neither a URL "
                "nor a Hugging Face repo id"
            )
        return ModelSource(name, self._from_hub(name, role, variant, weight_file), "hub")

    def _local(self, name: str, weight_file: str | None) -> Path | None:
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            return None
        for root in self.model_dirs:
            path = root / relative
            if path.exists():
                if weight_file is not None and path.is_dir():
                    file = path / weight_file
                    if not file.is_file() or ".." in PurePosixPath(weight_file).parts:
                        raise ModelUnavailable(f"model {name!r} has no weight file {weight_file!r} in {path}")  # fmt: skip
                    return file
                return path
        return None

    def _download(self, url: str) -> Path:
        base, _, fragment = url.partition("#")
        expected = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None
        folder = self.download_dir / "urls" / hashlib.sha256(base.encode()).hexdigest()[:40]
        dest = folder / "model.safetensors"
        if dest.exists():
            return dest
        if self.offline:
            raise ModelUnavailable(
                f"model {base.split('?', 1)[0]!r} has not been downloaded and HF_HUB_OFFLINE is set"
            )
        client = self._http or httpx.Client()
        try:
            return download(
                client, base, dest,
                expected_sha256=expected, policy=self._policy, progress=self._progress,
            )  # fmt: skip
        finally:
            if self._http is None:
                client.close()

    def _from_hub(
        self, repo_id: str, role: ModelRole, variant: str | None, weight_file: str | None
    ) -> Path:
        # Imported here: the hub client is heavy, and a node with local models never needs it.
        from huggingface_hub import hf_hub_download, snapshot_download  # noqa: PLC0415
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError  # noqa: PLC0415

        cache = str(self._hub_cache_dir) if self._hub_cache_dir else None
        try:
            if role is ModelRole.PIPELINE:
                from diffusers import DiffusionPipeline  # noqa: PLC0415

                folder = DiffusionPipeline.download(
                    repo_id, variant=variant, use_safetensors=True,
                    local_files_only=self.offline, cache_dir=cache,
                )  # fmt: skip
                return Path(folder)
            if weight_file is not None:
                return Path(
                    hf_hub_download(
                        repo_id, weight_file, local_files_only=self.offline, cache_dir=cache
                    )
                )
            folder = snapshot_download(
                repo_id,
                allow_patterns=[*_CONFIG_FILES, _weights_pattern(variant)],
                ignore_patterns=_PICKLE_FORMATS if variant else [*_PICKLE_FORMATS, "*.*16.safetensors"],
                local_files_only=self.offline,
                cache_dir=cache,
            )  # fmt: skip
            return Path(folder)
        except LocalEntryNotFoundError as exc:
            raise ModelUnavailable(
                f"model {repo_id!r} is not in the Hugging Face cache"
                f"{f' ({cache})' if cache else ''} and HF_HUB_OFFLINE is set: fetch it while "
                f"online (`hydrogen models fetch {repo_id}`) or put it under a model directory"
            ) from exc
        except (HfHubHTTPError, OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"model {repo_id!r} could not be fetched from the hub: {exc}"
            ) from exc


def _weights_pattern(variant: str | None) -> str:
    return f"*.{variant}.safetensors" if variant else "*.safetensors"
