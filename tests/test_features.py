import numpy as np
import pytest

from genre_model import synth
from genre_model.features import MelParams, log_mel, mel_band_frequencies, mel_filterbank, mel_power

librosa = pytest.importorskip("librosa")


@pytest.mark.parametrize("params", [
    MelParams(),
    MelParams(sample_rate=22050, n_fft=1024, hop_length=512, n_mels=128),
    MelParams(sample_rate=22050, n_fft=2048, hop_length=512, n_mels=64, fmin=30.0, fmax=8000.0),
])
def test_filterbank_matches_librosa(params):
    ref = librosa.filters.mel(sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels,
                              fmin=params.fmin, fmax=params.fmax)
    np.testing.assert_allclose(mel_filterbank(params), ref, atol=1e-7)


@pytest.mark.parametrize("seconds", [0.5, 3.0, 3.01])
def test_mel_power_matches_librosa(rng, seconds):
    p = MelParams()
    y = (0.1 * rng.standard_normal(int(seconds * p.sample_rate))).astype(np.float32)
    ref = librosa.feature.melspectrogram(y=y, sr=p.sample_rate, n_fft=p.n_fft, hop_length=p.hop_length,
                                         n_mels=p.n_mels).T
    ours = mel_power(y, p)[0].numpy()
    assert ours.shape == ref.shape == (p.n_frames(len(y)), p.n_mels)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_batch_equals_one_by_one(rng):
    p = MelParams()
    batch = (0.1 * rng.standard_normal((3, 48000))).astype(np.float32)
    together = log_mel(batch, p).numpy()
    for i in range(3):
        np.testing.assert_allclose(together[i], log_mel(batch[i], p)[0].numpy(), rtol=1e-5, atol=1e-6)


def test_a_tone_lights_up_its_mel_band():
    p = MelParams()
    spec = log_mel(synth.tone(1000.0, 1.0, sr=p.sample_rate), p)[0].numpy()
    band = int(np.argmax(spec.mean(axis=0)))
    centres = mel_band_frequencies(p)
    assert abs(centres[band] - 1000.0) < 60.0
