from pathlib import Path

import pytest

from inference.errors import ModelUnavailable
from inference.model_store import ModelRole, ModelStore


def store(tmp_path: Path, **kw: object) -> ModelStore:
    models = tmp_path / "models"
    (models / "tiny-sd15").mkdir(parents=True, exist_ok=True)
    (models / "tiny-lora").mkdir(exist_ok=True)
    (models / "tiny-lora" / "a.safetensors").write_bytes(b"x")
    return ModelStore(model_dirs=(models,), download_dir=tmp_path / "dl", offline=True, **kw)  # type: ignore[arg-type]


def test_a_name_under_a_model_directory_is_that_folder(tmp_path: Path) -> None:
    found = store(tmp_path).locate("tiny-sd15", ModelRole.PIPELINE)
    assert found.origin == "local" and found.path == tmp_path / "models" / "tiny-sd15"


def test_a_weight_file_names_the_file_in_the_folder(tmp_path: Path) -> None:
    found = store(tmp_path).locate("tiny-lora", ModelRole.WEIGHTS, weight_file="a.safetensors")
    assert found.path.name == "a.safetensors"


def test_a_missing_weight_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"no weight file 'b\.safetensors'"):
        store(tmp_path).locate("tiny-lora", ModelRole.WEIGHTS, weight_file="b.safetensors")


@pytest.mark.parametrize("name", ["../models/tiny-sd15", "/etc"])
def test_a_name_that_leaves_the_model_directories_is_not_a_local_model(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ModelUnavailable, match="not under the model directories"):
        store(tmp_path).locate(name, ModelRole.PIPELINE)


def test_a_hub_repo_missing_offline_says_so(tmp_path: Path) -> None:
    s = store(tmp_path, hub_cache_dir=tmp_path / "hf")
    with pytest.raises(ModelUnavailable, match=r"not in the Hugging Face cache.*HF_HUB_OFFLINE"):
        s.locate("someone/missing-model", ModelRole.COMPONENT)


def test_a_url_not_yet_downloaded_offline_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="has not been downloaded"):
        store(tmp_path).locate(
            "https://civitai.com/api/download/models/1?token=x", ModelRole.WEIGHTS
        )
