"""The 5-channel input of the ``mfcc5-cnn`` architecture: MFCC, delta, delta-delta,
beat-synchronous MFCC and chroma, stacked as image channels of one shape.

librosa is imported here only (it JIT-compiles numba code on first use); ``scripts/setup.sh``
warms that cache so the first classification with this model does not pay for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Mfcc5Params:
    """The 5-channel stack's settings: librosa's defaults at GTZAN's rate. A checkpoint stores them in
    its ``features`` beside ``"kind": "mfcc5"``."""

    sample_rate: int = 22050
    n_mfcc: int = 20
    n_fft: int = 2048
    hop_length: int = 512

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Mfcc5Params":
        return cls(**data)


def mfcc5_features(y: np.ndarray, params: Mfcc5Params = Mfcc5Params()) -> np.ndarray:
    """``np.ndarray [shape=(5, n_mfcc, n_frames), dtype=float32]`` for mono audio ``y``.

    Channels: MFCC; its delta; its delta-delta; the MFCC averaged between detected beats and
    spread back over each beat's frames (one value per beat, so the network sees the rhythmic
    structure); the 12-bin chroma, zero-padded to ``n_mfcc`` rows so it stacks with the rest.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    sr, hop = params.sample_rate, params.hop_length
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=params.n_mfcc, n_fft=params.n_fft, hop_length=hop)
    n_frames = mfcc.shape[1]
    width = min(9, n_frames - (1 - n_frames % 2))  # odd and no longer than the clip, as delta requires
    delta = librosa.feature.delta(mfcc, width=width, mode="nearest")
    delta2 = librosa.feature.delta(mfcc, order=2, width=width, mode="nearest")
    _, beats = librosa.beat.beat_track(y=y, sr=sr, hop_length=hop)
    bounds = librosa.util.fix_frames(beats, x_min=0, x_max=n_frames)
    beat_mfcc = np.repeat(librosa.util.sync(mfcc, bounds, aggregate=np.mean, pad=False), np.diff(bounds), axis=1)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=params.n_fft, hop_length=hop)
    chroma = np.pad(chroma, ((0, params.n_mfcc - chroma.shape[0]), (0, 0)))
    return np.stack([mfcc, delta, delta2, beat_mfcc, chroma[:, :n_frames]]).astype(np.float32)
