import numpy as np
import pytest

from genre_model import synth
from train.micsim import MicConditions, room_impulse_response, simulate_microphone

SR = 16000


def test_same_seed_same_recording_different_seed_different_room():
    y = synth.music_like(4.0, sr=SR)
    a, ca = simulate_microphone(y, SR, np.random.default_rng(1))
    b, cb = simulate_microphone(y, SR, np.random.default_rng(1))
    c, cc = simulate_microphone(y, SR, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert ca == cb and ca != cc
    assert not np.allclose(a, c)


def test_conditions_stay_in_their_documented_ranges():
    rng = np.random.default_rng(0)
    for _ in range(50):
        _, c = simulate_microphone(np.zeros(SR, np.float32) + 0.1, SR, rng)
        assert isinstance(c, MicConditions)
        assert 0.15 <= c.rt60 <= 1.2 and 80 <= c.low_hz <= 300 and 3500 <= c.high_hz <= 0.45 * SR
        assert 5 <= c.snr_db <= 30 and -20 <= c.level_db <= -1


@pytest.mark.parametrize("seed", range(5))
def test_recording_is_same_length_finite_in_range_and_band_limited(seed):
    y = synth.noise(3.0, sr=SR, amplitude=0.3, seed=seed)
    out, _ = simulate_microphone(y, SR, np.random.default_rng(seed))
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(len(out), 1 / SR)
    # white noise in; the speaker/mic band (low-pass <= 7.2 kHz at 16 kHz) removes most energy up top,
    # except what added background noise puts back: compare with the untouched input
    top = freqs > 7600
    assert spectrum[top].sum() / spectrum.sum() < (np.abs(np.fft.rfft(y)) ** 2)[top].sum() / (np.abs(np.fft.rfft(y)) ** 2).sum()


def test_room_impulse_response_decays():
    rir = room_impulse_response(SR, 0.8, 0.0, np.random.default_rng(0))
    assert np.argmax(np.abs(rir)) < SR * 0.03  # direct sound first
    n = len(rir) // 4
    assert np.sum(rir[-n:] ** 2) < np.sum(rir[n:2 * n] ** 2)
