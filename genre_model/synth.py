"""Generated audio for tests, examples and benchmarks: tones, noise and simple drum patterns.

Everything is deterministic for a given seed, so tests and stored reference outputs can
regenerate exactly the same signals on any machine (no recorded audio is shipped).
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf


def tone(freq: float, seconds: float, *, sr: int = 22050, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone, ``np.ndarray [shape=(seconds * sr,), dtype=float32]``."""
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float, *, sr: int = 22050, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal(int(seconds * sr))).astype(np.float32)


def drum_pattern(seconds: float, *, sr: int = 22050, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """Kick on every beat, snare (noise burst) on 2 and 4, closed hi-hat on eighths."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float64)
    beat = 60.0 / bpm
    kick_t = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-kick_t * 30)) * kick_t) * np.exp(-kick_t * 12)
    snare = rng.standard_normal(int(0.15 * sr)) * np.exp(-np.arange(int(0.15 * sr)) / sr * 25)
    hat = np.diff(rng.standard_normal(int(0.04 * sr) + 1)) * np.exp(-np.arange(int(0.04 * sr)) / sr * 120)
    for i, start in enumerate(np.arange(0, seconds, beat / 2)):
        s = int(start * sr)
        if i % 2 == 0:
            _add(out, kick * 0.6, s)
            if (i // 2) % 2 == 1:
                _add(out, snare * 0.3, s)
        _add(out, hat * 0.15, s)
    return out.astype(np.float32)


def _add(out: np.ndarray, sound: np.ndarray, start: int) -> None:
    end = min(len(out), start + len(sound))
    out[start:end] += sound[: end - start]


def music_like(seconds: float, *, sr: int = 22050, seed: int = 0, bpm: float = 110.0) -> np.ndarray:
    """Drums plus a bass line and a chord pad: enough structure for a music model to respond to."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    roots = rng.choice([110.0, 123.5, 130.8, 146.8, 164.8], size=max(1, int(seconds / 2) + 1))
    root = roots[(t // 2).astype(int)]
    bass = 0.25 * np.sign(np.sin(2 * np.pi * root * t)) * 0.5
    pad = sum(0.08 * np.sin(2 * np.pi * root * 2 * ratio * t) for ratio in (1.0, 1.25, 1.5))
    mix = drum_pattern(seconds, sr=sr, bpm=bpm, seed=seed) + bass + pad
    return (0.7 * mix / max(1e-9, np.abs(mix).max())).astype(np.float32)


def wav_bytes(samples: np.ndarray, sr: int, *, subtype: str = "PCM_16", format: str = "WAV") -> bytes:
    """Encode ``samples`` (``[n]`` or ``[n, channels]``) as an in-memory audio file."""
    buf = io.BytesIO()
    sf.write(buf, samples, sr, subtype=subtype, format=format)
    return buf.getvalue()


# Vowel formants (F1, F2, F3 in Hz) of an adult voice, roughly /a e i o u/ and a schwa.
_VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240),
           (500, 1500, 2500))


def _resonator(x: np.ndarray, freq: float, bandwidth: float, sr: int) -> np.ndarray:
    from scipy.signal import lfilter
    r = np.exp(-np.pi * bandwidth / sr)
    a = [1.0, -2 * r * np.cos(2 * np.pi * min(freq, 0.45 * sr) / sr), r * r]
    return lfilter([1 - r], a, x)


def speech_like(seconds: float, *, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """One talker's speech-like signal: words of 1-4 syllables separated by pauses, each syllable a
    fricative or plosive noise onset and a voiced vowel (glottal pulses at a gliding pitch through
    three formant resonators). Not intelligible, but it has speech's spectrum, pitch and 4-5 Hz
    syllable rhythm, so tests and augmentation can make babble without recorded voices."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n + sr, dtype=np.float64)
    f0_base = rng.uniform(90, 240)
    pos = int(rng.uniform(0, 0.3) * sr)
    while pos < n:
        for _ in range(int(rng.integers(1, 5))):
            if rng.random() < 0.6:  # consonant onset: a short band of noise
                m = int(rng.uniform(0.02, 0.07) * sr)
                burst = _resonator(rng.standard_normal(m), rng.uniform(2500, 5000), 1200, sr)
                _add(out, 0.1 * burst * np.hanning(m), pos)
                pos += m
            m = int(rng.uniform(0.1, 0.25) * sr)
            t = np.arange(m) / sr
            f0 = f0_base * (1 + rng.uniform(-0.15, 0.15) + rng.uniform(-0.2, 0.2) * t / t[-1])
            phase = np.cumsum(f0 / sr)
            pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal period
            voiced = np.zeros(m)
            for f, bw in zip(_VOWELS[int(rng.integers(len(_VOWELS)))], (90, 110, 170)):
                voiced += _resonator(pulses, f * rng.uniform(0.9, 1.1), bw, sr)
            _add(out, voiced * np.hanning(m) ** 0.5, pos)
            pos += m
        pos += int(rng.uniform(0.05, 0.4) * sr)
    from scipy.signal import butter, sosfilt
    out = sosfilt(butter(2, 70.0, btype="highpass", fs=sr, output="sos"), out[:n])  # voices have no DC
    return (0.3 * out / max(1e-9, np.abs(out).max())).astype(np.float32)
