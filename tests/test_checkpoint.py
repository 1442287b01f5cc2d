import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from genre_model.checkpoint import (WEIGHTS_FILE, ModelInfo, available_models, load_checkpoint, read_info,
                                    resolve_model_dir, save_checkpoint)
from genre_model.errors import CheckpointError
from genre_model.features import MelParams
from tests.conftest import GENRES
from genre_model.models.musicnn import MusicnnGenre


def _info(**changes) -> ModelInfo:
    base = dict(arch="musicnn-head", arch_params={"n_genres": 10}, labels=list(GENRES), features=MelParams().to_dict(),
                metrics={"accuracy_clean": 0.5}, training_data={"fingerprint": "abc"})
    base.update(changes)
    return ModelInfo(**base)


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = MusicnnGenre().eval()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.05)
    return m


def test_round_trip_keeps_weights_metadata_and_outputs(tmp_path, model):
    save_checkpoint(model, _info(), tmp_path / "m")
    loaded, info = load_checkpoint(tmp_path / "m")
    assert info.labels == list(GENRES) and info.metrics == {"accuracy_clean": 0.5}
    assert info.training_data["fingerprint"] == "abc" and info.code_version
    x = torch.randn(2, 187, 96)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert [p.name for p in (tmp_path / "m").iterdir()] == [WEIGHTS_FILE]  # no temp files left


def test_refuses_unknown_architecture(tmp_path, model):
    save_checkpoint(model, _info(arch="transformer-xl"), tmp_path / "m")
    with pytest.raises(CheckpointError, match="unknown architecture"):
        load_checkpoint(tmp_path / "m")


def test_refuses_labels_that_do_not_match_outputs(tmp_path, model):
    save_checkpoint(model, _info(labels=["rock", "pop"]), tmp_path / "m")
    with pytest.raises(CheckpointError, match="10 outputs but the metadata lists 2"):
        load_checkpoint(tmp_path / "m")


def test_refuses_features_the_architecture_was_not_built_for(tmp_path, model):
    save_checkpoint(model, _info(features=MelParams(n_mels=128).to_dict()), tmp_path / "m")
    with pytest.raises(CheckpointError, match="needs features"):
        load_checkpoint(tmp_path / "m")


def test_refuses_weights_of_another_shape(tmp_path, model):
    save_checkpoint(model, _info(arch_params={"n_genres": 10}), tmp_path / "m")
    info = read_info(tmp_path / "m")
    info.arch_params = {"n_genres": 5}
    info.labels = list(GENRES[:5])
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "m" / WEIGHTS_FILE), metadata={"genre_model": json.dumps(info.to_dict())})
    with pytest.raises(CheckpointError, match="do not match architecture.*wrong shape"):
        load_checkpoint(tmp_path / "m")


def test_refuses_missing_tensors(tmp_path, model):
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("head.linear")}
    (tmp_path / "m").mkdir()
    save_file(state, str(tmp_path / "m" / WEIGHTS_FILE), metadata={"genre_model": json.dumps(_info().to_dict())})
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(tmp_path / "m")


class _Exploit:
    def __reduce__(self):
        import os
        return (os.system, ("touch pwned_by_checkpoint",))


def test_a_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / WEIGHTS_FILE).write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(tmp_path / "m")
    assert not (tmp_path / "pwned_by_checkpoint").exists()


def test_safetensors_without_our_metadata_is_refused(tmp_path, model):
    (tmp_path / "m").mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "m" / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="no genre_model metadata"):
        load_checkpoint(tmp_path / "m")


def test_resolve_names_and_dirs(tmp_path, model):
    save_checkpoint(model, _info(), tmp_path / "mine")
    assert resolve_model_dir(tmp_path / "mine") == tmp_path / "mine"
    assert resolve_model_dir("default").name == "default"
    assert "default" == available_models()[0]
    with pytest.raises(CheckpointError, match="No model named 'nonexistent'"):
        resolve_model_dir("nonexistent")
