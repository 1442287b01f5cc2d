"""Fitting heads on musicnn embeddings: calibration lowers the expected calibration error, the
quality layer hears babble, and the novelty limit chosen on held-out music keeps "unfamiliar" off
for new music but on for tones, noise and speech."""

import numpy as np
import pytest
import torch

from genre_model import synth
from genre_model.chunking import chunk_spans, cut_chunks
from genre_model.features import MelParams, log_mel
from genre_model.fitting import (clip_weights, expected_calibration_error, fit_head, fit_quality, fit_temperature,
                               softmax)
from genre_model.roomsim import generated_speech, simulate_room

SR = 16000


def test_temperature_scaling_lowers_the_calibration_error_of_an_overconfident_model(rng):
    n, k = 3000, 5
    y = rng.integers(0, k, n)
    # a model right 60% of the time but with very peaked logits
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), pred] += 6.0
    before = expected_calibration_error(softmax(logits), y)
    t = fit_temperature(logits[:2000], y[:2000])
    after = expected_calibration_error(softmax(logits[2000:], t), y[2000:])
    assert t > 1.5 and before > 0.2 and after < before / 3
    # temperature never changes the verdict
    assert (softmax(logits, t).argmax(1) == logits.argmax(1)).all()


@pytest.fixture(scope="module")
def backbone(classifier):
    return classifier.model.backbone


@torch.inference_mode()
def _embed(backbone, samples: np.ndarray) -> np.ndarray:
    spans = chunk_spans(len(samples), sample_rate=SR, chunk_seconds=3.0, hop_seconds=3.0)
    return backbone.embed(log_mel(cut_chunks(samples, spans), MelParams())).numpy()


def _music(seed: int) -> np.ndarray:
    return synth.music_like(6.0, sr=SR, seed=seed, bpm=80 + 12 * seed)


def _babbled(music: np.ndarray, seed: int, snr_db: float = -3.0) -> np.ndarray:
    talk = sum(generated_speech(SR).talker(len(music), np.random.default_rng([seed, v])) for v in range(5))
    talk *= np.sqrt(np.mean(music ** 2) / np.mean(talk ** 2) / 10 ** (snr_db / 10))
    return (music + talk).astype(np.float32)


def test_quality_layer_tells_music_from_the_same_music_under_heavy_babble(backbone):
    train, test = range(0, 8), range(8, 12)
    x_clean = np.concatenate([_embed(backbone, _music(s)) for s in train])
    x_noisy = np.concatenate([_embed(backbone, _babbled(_music(s), s)) for s in train])
    x = np.concatenate([x_clean, x_noisy])
    y = np.zeros(len(x), dtype=int)
    head = fit_head(x, y, 2)
    fit_quality(head, x, np.zeros(len(x), bool), np.r_[np.full(len(x_clean), 30.0), np.full(len(x_noisy), -3.0)])
    for s in test:
        clean = head.judge(torch.as_tensor(_embed(backbone, _music(s))))["snr_db"].median().item()
        noisy = head.judge(torch.as_tensor(_embed(backbone, _babbled(_music(s), s))))["snr_db"].median().item()
        assert clean > noisy + 10, (s, clean, noisy)


def test_novelty_limit_from_held_out_music_flags_tones_and_speech_but_not_new_music(backbone):
    rows, ids = [], []
    for s in range(10):
        for copy, audio in enumerate([_music(s), simulate_room(_music(s), SR, np.random.default_rng(s))[0]]):
            e = _embed(backbone, audio)
            rows.append(e)
            ids += [f"clip{s}"] * len(e)
    x = np.concatenate(rows)
    head = fit_head(x, np.zeros(len(x), dtype=int), 2, weights=clip_weights(["m"] * len(x), ids), groups=np.array(ids))

    def novelty(audio):
        return float(np.median(head.judge(torch.as_tensor(_embed(backbone, audio)))["novelty"].numpy()))

    held_out = [novelty(_music(s)) for s in range(10, 20)]
    limit = float(np.quantile(held_out, 0.98))  # how train/evaluation.py chooses it
    new_music = [novelty(_music(s)) for s in range(20, 26)]
    assert np.mean([n > limit for n in new_music]) <= 1 / 6
    for odd in (synth.tone(440.0, 6.0, sr=SR), synth.noise(6.0, sr=SR, seed=1),
                synth.speech_like(6.0, sr=SR, seed=5)):
        assert novelty(odd) > limit
