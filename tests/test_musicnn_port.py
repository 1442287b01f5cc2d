"""The PyTorch port against outputs of the original TensorFlow musicnn, stored in
tests/fixtures/musicnn_reference.json (see train/musicnn_reference_tf.py for how they were made)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genre_model import synth
from genre_model.audio import load_audio
from genre_model.features import MelParams, log_mel
from tests.conftest import EXCERPTS, needs_shared_data

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "musicnn_reference.json").read_text())
PATCH = 187  # the original's input_length=3 s at 16 kHz / hop 256


@pytest.fixture(scope="module")
def backbone(classifier):
    return classifier.model.backbone


def _regenerate(recipe: dict) -> np.ndarray:
    sr = recipe["sr"]
    if recipe["fn"] == "music_like":
        return synth.music_like(recipe["seconds"], sr=sr, seed=recipe["seed"], bpm=recipe.get("bpm", 110.0))
    return synth.tone(recipe["freq"], recipe["seconds"], sr=sr) + synth.noise(recipe["seconds"], sr=sr, amplitude=recipe["noise_amplitude"])


def _our_tags(backbone, source) -> tuple[np.ndarray, np.ndarray]:
    samples = load_audio(source, sample_rate=16000).samples
    spec = log_mel(samples, MelParams())[0]
    patches = torch.stack([spec[i:i + PATCH] for i in range(0, spec.shape[0] - PATCH + 1, PATCH)])
    with torch.inference_mode():
        logits, penultimate = backbone(patches)
    return torch.sigmoid(logits).numpy(), penultimate.numpy()


def _check(backbone, source, ref):
    tags, pen = _our_tags(backbone, source)
    expected = np.array(ref["taggram"])
    assert tags.shape == expected.shape
    np.testing.assert_allclose(tags, expected, atol=1e-3)  # measured: max 9e-5
    np.testing.assert_allclose(pen[0], ref["penultimate0"], atol=5e-3)  # measured: max 3.3e-4
    assert (tags.mean(0).argsort()[-5:] == expected.mean(0).argsort()[-5:]).all()


@pytest.mark.parametrize("name", sorted(REFERENCE["synth"]))
def test_port_matches_tensorflow_on_generated_audio(backbone, name):
    ref = REFERENCE["synth"][name]
    _check(backbone, synth.wav_bytes(_regenerate(ref["recipe"]), ref["recipe"]["sr"], subtype="FLOAT"), ref)


@needs_shared_data
@pytest.mark.parametrize("relpath", sorted(REFERENCE["gtzan"]))
def test_port_matches_tensorflow_on_real_music(backbone, relpath):
    _check(backbone, EXCERPTS / relpath, REFERENCE["gtzan"][relpath])
