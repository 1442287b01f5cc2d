"""Microphone simulation: what happens to music played from a speaker and recorded in a room.

Each call draws a new room and device (:class:`MicConditions`): a generated room impulse response
(direct sound plus an exponentially decaying diffuse tail, RT60 0.15-1.2 s), the band of a small
speaker and a laptop/phone microphone (high-pass 80-300 Hz, low-pass 3.5-8 kHz), mild speaker
saturation, background noise of a random kind (white, pink, brown, mains hum, babble-like) at
5-30 dB SNR, and a random overall level (browsers apply automatic gain control).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal

NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")


@dataclass(frozen=True)
class MicConditions:
    rt60: float
    direct_to_reverb_db: float
    low_hz: float
    high_hz: float
    filter_order: int
    drive: float
    noise: str
    snr_db: float
    level_db: float

    def to_dict(self) -> dict:
        return asdict(self)


def draw_conditions(sr: int, rng: np.random.Generator) -> MicConditions:
    return MicConditions(
        rt60=float(rng.uniform(0.15, 1.2)), direct_to_reverb_db=float(rng.uniform(-6, 12)),
        low_hz=float(rng.uniform(80, 300)), high_hz=float(min(rng.uniform(3500, 8000), 0.45 * sr)),
        filter_order=int(rng.integers(2, 5)), drive=float(rng.uniform(1.0, 4.0)),
        noise=str(rng.choice(NOISE_KINDS)), snr_db=float(rng.uniform(5, 30)), level_db=float(rng.uniform(-20, -1)),
    )


def room_impulse_response(sr: int, rt60: float, direct_to_reverb_db: float, rng: np.random.Generator) -> np.ndarray:
    length = int(sr * min(1.5, rt60 * 1.2))
    t = np.arange(length) / sr
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail = signal.lfilter([1.0], [1.0, -rng.uniform(0.0, 0.7)], tail)  # walls absorb highs
    tail[: int(sr * rng.uniform(0.002, 0.02))] = 0.0  # pre-delay before the first reflections
    tail /= np.sqrt(np.sum(tail ** 2)) + 1e-12
    tail[0] += 10 ** (direct_to_reverb_db / 20)  # the direct sound
    return tail / np.abs(tail).max()


def make_noise(n: int, kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "hum":
        f0 = rng.choice([50.0, 60.0])
        t = np.arange(n) / sr
        return sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6)) + 0.1 * rng.standard_normal(n)
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / sr), 1.0)
    if kind == "pink":
        spectrum /= np.sqrt(freqs)
    elif kind == "brown":
        spectrum /= freqs
    elif kind == "babble":  # speech-band noise with a syllable-rate envelope
        spectrum *= np.exp(-0.5 * ((np.log(freqs) - np.log(500)) / 0.6) ** 2)
    out = np.fft.irfft(spectrum, n)
    if kind == "babble":
        out *= np.abs(signal.resample(rng.standard_normal(max(2, int(n / sr * 4))), n))
    return out


# One fixed, moderate condition, the one issue #2 quotes for its own measurement (reverb, a
# 150 Hz-7 kHz band, noise at 20 dB SNR), to compare against: evaluation only, never tuned on.
REFERENCE_CONDITIONS = MicConditions(rt60=0.5, direct_to_reverb_db=3.0, low_hz=150.0, high_hz=7000.0,
                                     filter_order=4, drive=1.0, noise="pink", snr_db=20.0, level_db=-6.0)


def simulate_microphone(y: np.ndarray, sr: int, rng: np.random.Generator,
                        conditions: MicConditions | None = None) -> tuple[np.ndarray, MicConditions]:
    """A simulated room recording of ``y`` (mono float32 at ``sr``): same length, float32, and the
    conditions used (drawn from ``rng`` unless given)."""
    c = conditions or draw_conditions(sr, rng)
    x = signal.fftconvolve(y.astype(np.float64), room_impulse_response(sr, c.rt60, c.direct_to_reverb_db, rng))[: len(y)]
    sos = signal.butter(c.filter_order, [c.low_hz, c.high_hz], btype="bandpass", fs=sr, output="sos")
    x = signal.sosfilt(sos, x)
    x = np.tanh(c.drive * x / (np.abs(x).max() + 1e-12)) / np.tanh(c.drive)
    noise = make_noise(len(x), c.noise, sr, rng)
    p_sig, p_noise = np.mean(x ** 2), np.mean(noise ** 2) + 1e-12
    x = x + noise * np.sqrt(p_sig / (p_noise * 10 ** (c.snr_db / 10)))
    return (10 ** (c.level_db / 20) * x / (np.abs(x).max() + 1e-12)).astype(np.float32), c
