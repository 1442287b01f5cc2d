"""Microphone simulation: what happens to music played from a speaker and recorded in a room.

Each call draws a new room and device: a generated room impulse response (direct sound plus an
exponentially decaying diffuse tail, RT60 0.15-1.2 s), the band of a small speaker and a
laptop/phone microphone (high-pass 80-300 Hz, low-pass 3.5-8 kHz), mild speaker saturation,
background noise of a random kind (white, pink, brown, hum, babble-like) at 5-30 dB SNR, and a
random overall level (browsers apply automatic gain control).
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def room_impulse_response(sr: int, rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.15, 1.2)
    length = int(sr * min(1.5, rt60 * 1.2))
    t = np.arange(length) / sr
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail = signal.lfilter([1.0], [1.0, -rng.uniform(0.0, 0.7)], tail)  # walls absorb highs
    predelay = int(sr * rng.uniform(0.002, 0.02))
    tail[:predelay] = 0.0
    direct_to_reverb = 10 ** (rng.uniform(-6, 12) / 20)
    tail *= 1.0 / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    rir = tail
    rir[0] += direct_to_reverb
    return rir / np.abs(rir).max()


def _coloured_noise(n: int, kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
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
        env = np.abs(signal.resample(rng.standard_normal(max(2, int(n / sr * 4))), n))
        out *= env
    return out


def simulate_microphone(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A simulated room recording of ``y`` (mono float32 at ``sr``), same length, float32."""
    x = signal.fftconvolve(y.astype(np.float64), room_impulse_response(sr, rng))[: len(y)]
    low = rng.uniform(80, 300)
    high = min(rng.uniform(3500, 8000), 0.45 * sr)
    sos = signal.butter(int(rng.integers(2, 5)), [low, high], btype="bandpass", fs=sr, output="sos")
    x = signal.sosfilt(sos, x)
    drive = rng.uniform(1.0, 4.0)
    x = np.tanh(drive * x / (np.abs(x).max() + 1e-12)) / np.tanh(drive)
    kind = rng.choice(["white", "pink", "brown", "hum", "babble"])
    noise = _coloured_noise(len(x), str(kind), sr, rng)
    snr_db = rng.uniform(5, 30)
    p_sig, p_noise = np.mean(x ** 2), np.mean(noise ** 2) + 1e-12
    x = x + noise * np.sqrt(p_sig / (p_noise * 10 ** (snr_db / 10)))
    level = 10 ** (rng.uniform(-20, -1) / 20)
    return (level * x / (np.abs(x).max() + 1e-12)).astype(np.float32)
