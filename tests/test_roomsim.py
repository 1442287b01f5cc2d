"""Room simulation: reproducible, in range, band-limited, and the noisy-classroom profile puts
talk, crowd and clatter around the music at the SNR it claims."""

import numpy as np
import pytest

from genre_model import synth
from genre_model.roomsim import (ROOM_NOISES, RoomConditions, SpeechPool, auto_gain, background_only, draw_conditions,
                                 make_noise, room_impulse_response, simulate_room)

SR = 16000


def test_same_seed_same_recording_different_seed_different_room():
    y = synth.music_like(4.0, sr=SR)
    a, ca = simulate_room(y, SR, np.random.default_rng(1))
    b, cb = simulate_room(y, SR, np.random.default_rng(1))
    c, cc = simulate_room(y, SR, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert ca == cb and ca != cc
    assert not np.allclose(a, c)


def test_conditions_stay_in_their_documented_ranges():
    rng = np.random.default_rng(0)
    for _ in range(50):
        c = draw_conditions(SR, rng, "mic")
        assert isinstance(c, RoomConditions) and not c.agc
        assert 0.15 <= c.rt60 <= 1.2 and 80 <= c.low_hz <= 300 and 3500 <= c.high_hz <= 0.45 * SR
        assert 5 <= c.snr_db <= 30 and -20 <= c.level_db <= -1
        r = draw_conditions(SR, rng, "noisy-room")
        assert r.noise in ROOM_NOISES and 0 <= r.snr_db <= 15 and 80 <= r.low_hz <= 500 and r.voices >= 2
    agc = [draw_conditions(SR, rng, "noisy-room").agc for _ in range(200)]
    assert 0.6 < np.mean(agc) < 0.9
    with pytest.raises(ValueError, match="unknown room profile"):
        draw_conditions(SR, rng, "stadium")


@pytest.mark.parametrize("profile", ["mic", "noisy-room"])
@pytest.mark.parametrize("seed", range(3))
def test_recording_is_same_length_finite_in_range_and_band_limited(seed, profile):
    y = synth.noise(3.0, sr=SR, amplitude=0.3, seed=seed)
    out, c = simulate_room(y, SR, np.random.default_rng(seed), profile=profile)
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(len(out), 1 / SR)
    low = freqs < 0.5 * c.low_hz  # below the microphone's high-pass
    assert spectrum[low].sum() / spectrum.sum() < (np.abs(np.fft.rfft(y)) ** 2)[low].sum() / (np.abs(np.fft.rfft(y)) ** 2).sum()


@pytest.mark.parametrize("kind", ROOM_NOISES)
def test_room_noise_is_added_at_the_stated_snr(kind):
    """With reverb, band and gain control switched off, the added noise sits at the requested SNR."""
    music = synth.music_like(4.0, sr=SR, seed=1)
    c = RoomConditions(rt60=0.15, direct_to_reverb_db=40.0, low_hz=20.0, high_hz=7900.0, filter_order=1, drive=1.0,
                       noise=kind, snr_db=5.0, level_db=0.0, voices=4, agc=False)
    a, _ = simulate_room(music, SR, np.random.default_rng(3), c)
    b, _ = simulate_room(music, SR, np.random.default_rng(3), RoomConditions(**{**c.to_dict(), "snr_db": 60.0}))
    # b is (almost) the music alone at the same scale; a - b*k is the noise
    k = np.dot(a, b) / np.dot(b, b)
    residual = a - k * b
    snr = 10 * np.log10(np.mean((k * b) ** 2) / np.mean(residual ** 2))
    assert snr == pytest.approx(5.0, abs=1.5)


def test_babble_has_a_syllable_rhythm_and_speech_band(rng):
    talk = make_noise(SR * 6, "babble", SR, rng, voices=2)
    envelope = np.sqrt(np.convolve(talk ** 2, np.ones(SR // 50) / (SR // 50), mode="same"))[:: SR // 100]
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean()))
    rates = np.fft.rfftfreq(len(envelope), 1 / 100)
    assert 1.0 < rates[np.argmax(spectrum[1:]) + 1] < 9.0  # words and syllables, not a steady hiss
    power = np.abs(np.fft.rfft(talk)) ** 2
    freqs = np.fft.rfftfreq(len(talk), 1 / SR)
    assert power[(freqs > 100) & (freqs < 4000)].sum() > 0.8 * power.sum()


def test_recorded_voices_can_replace_the_generated_ones():
    pool = SpeechPool([synth.tone(300.0, 2.0, sr=SR), synth.tone(500.0, 2.0, sr=SR)], SR)
    talk = make_noise(SR * 3, "babble", SR, np.random.default_rng(0), voices=3, speech=pool)
    freqs = np.fft.rfftfreq(len(talk), 1 / SR)
    top = freqs[np.argsort(np.abs(np.fft.rfft(talk)))[-50:]]
    assert set(np.round(top / 100) * 100) <= {300.0, 500.0}
    with pytest.raises(ValueError):
        SpeechPool([np.zeros(10, np.float32)], SR)


def test_automatic_gain_lifts_quiet_passages_and_limits_peaks():
    quiet_then_loud = np.r_[0.01 * synth.tone(440.0, 2.0, sr=SR), 0.9 * synth.tone(440.0, 2.0, sr=SR) / 0.3]
    out = auto_gain(quiet_then_loud.astype(np.float64), SR)
    assert np.abs(out).max() <= 1.0 and np.mean(np.abs(out[-SR:]) > 0.95) < 0.01  # the limiter holds peaks
    rms_in = [np.sqrt(np.mean(p ** 2)) for p in (quiet_then_loud[SR // 2:SR], quiet_then_loud[-SR:])]
    rms_out = [np.sqrt(np.mean(p ** 2)) for p in (out[SR // 2:SR], out[-SR:])]
    assert rms_out[1] / rms_out[0] < 0.2 * rms_in[1] / rms_in[0]


def test_background_only_recording_holds_no_music_and_is_usable(rng):
    out = background_only(SR * 4, SR, rng)
    assert out.shape == (SR * 4,) and np.isfinite(out).all() and 1e-3 < np.abs(out).max() <= 1.0


def test_room_impulse_response_decays():
    rir = room_impulse_response(SR, 0.8, 0.0, np.random.default_rng(0))
    assert np.argmax(np.abs(rir)) < SR * 0.03  # direct sound first
    n = len(rir) // 4
    assert np.sum(rir[-n:] ** 2) < np.sum(rir[n:2 * n] ** 2)
