"""Kaggle-style tabular features: the 57 columns of GTZAN's ``features_30_sec.csv``.

The recipe is the one the table was made with: librosa defaults at 22050 Hz over the whole clip,
then the mean and variance of each feature over time (and of the harmonic and percussive
waveforms), plus the tempo. librosa is imported here only, so the serving path of the other
models never pays for numba compilation.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 22050
_BASE = ["chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff", "zero_crossing_rate",
         "harmony", "perceptr"]
COLUMNS: list[str] = ([f"{name}_{stat}" for name in _BASE for stat in ("mean", "var")] + ["tempo"]
                      + [f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")])


def tabular_features(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The 57 features of one clip, in :data:`COLUMNS` order: ``np.ndarray [shape=(57,), dtype=float64]``.

    ``y``: mono float audio at ``sr`` (22050 Hz, as the table was made).
    """
    import librosa

    if sr != SAMPLE_RATE:
        raise ValueError(f"the table's recipe needs {SAMPLE_RATE} Hz audio, not {sr} Hz")
    y = np.asarray(y, dtype=np.float32)
    harmonic, percussive = librosa.effects.hpss(y)
    series = [
        librosa.feature.chroma_stft(y=y, sr=sr),
        librosa.feature.rms(y=y),
        librosa.feature.spectral_centroid(y=y, sr=sr),
        librosa.feature.spectral_bandwidth(y=y, sr=sr),
        librosa.feature.spectral_rolloff(y=y, sr=sr),
        librosa.feature.zero_crossing_rate(y),
        harmonic,
        percussive,
    ]
    values: list[float] = []
    for s in series:
        values += [float(np.mean(s)), float(np.var(s))]
    tempo = librosa.feature.tempo(y=y, sr=sr)
    values.append(float(np.atleast_1d(tempo)[0]))
    mfcc = librosa.feature.mfcc(y=y, sr=sr)
    for row in mfcc:
        values += [float(np.mean(row)), float(np.var(row))]
    return np.array(values, dtype=np.float64)
