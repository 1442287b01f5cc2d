"""Features, computed one way for the app, the CLI and training.

The log-mel front end is implemented with torch (STFT) and numpy (filterbank) and reproduces
``librosa.feature.melspectrogram`` (Slaney mel scale and norm, periodic Hann window, centred
frames with zero padding) -- the test suite checks that against librosa. We do not call librosa
here because importing it JIT-compiles numba code, which would cost a classroom's first click
about 20 seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch


@dataclass(frozen=True)
class MelParams:
    """Log-mel settings. Defaults are musicnn's: 16 kHz, 512-point FFT, hop 256, 96 bands."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 96
    fmin: float = 0.0
    fmax: float | None = None
    # "log10_10000": log10(10000 * power + 1), musicnn's compression;
    # "db": 10 * log10(max(power, 1e-10)), the usual decibel scale.
    compression: str = "log10_10000"
    # When set, every chunk is brought to this RMS level (dBFS, gain within +-30 dB) before the
    # spectrogram: musicnn's compression depends on level, and a recording's level is arbitrary.
    normalize_db: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["normalize_db"] is None:  # absent means off: older checkpoints and cache keys stay valid
            del d["normalize_db"]
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "MelParams":
        return cls(**data)

    def n_frames(self, n_samples: int) -> int:
        """Frames a centred STFT gives for ``n_samples`` samples."""
        return 1 + n_samples // self.hop_length


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asanyarray(hz, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, hz / f_sp)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asanyarray(mel, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_band_frequencies(params: MelParams) -> np.ndarray:
    """Centre frequency in Hz of each mel band: ``np.ndarray [shape=(n_mels,)]``."""
    fmax = params.fmax if params.fmax is not None else params.sample_rate / 2
    edges = _mel_to_hz(np.linspace(_hz_to_mel(params.fmin), _hz_to_mel(fmax), params.n_mels + 2))
    return edges[1:-1]


@lru_cache(maxsize=8)
def mel_filterbank(params: MelParams) -> np.ndarray:
    """Slaney-normalised triangular filters: ``np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]``."""
    fmax = params.fmax if params.fmax is not None else params.sample_rate / 2
    fft_freqs = np.fft.rfftfreq(params.n_fft, d=1.0 / params.sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(params.fmin), _hz_to_mel(fmax), params.n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_power(audio: np.ndarray | torch.Tensor, params: MelParams) -> torch.Tensor:
    """Mel power spectrogram.

    ``audio``: ``[shape=(n,)]`` or ``[shape=(batch, n)]`` float samples at ``params.sample_rate``.
    Returns ``torch.Tensor [shape=(batch, n_frames, n_mels)]`` (time first, as musicnn expects).
    """
    x = torch.as_tensor(audio, dtype=torch.float32)
    if x.ndim == 1:
        x = x[None]
    window = torch.hann_window(params.n_fft, periodic=True, dtype=torch.float32, device=x.device)
    spec = torch.stft(x, params.n_fft, hop_length=params.hop_length, window=window,
                      center=True, pad_mode="constant", return_complex=True)
    power = spec.real.square() + spec.imag.square()  # (batch, freq, frames)
    fb = torch.from_numpy(mel_filterbank(params)).to(x.device)
    return torch.matmul(fb, power).transpose(1, 2)


def compress(power: torch.Tensor, compression: str) -> torch.Tensor:
    if compression == "log10_10000":
        return torch.log10(10000.0 * power + 1.0)
    if compression == "db":
        return 10.0 * torch.log10(torch.clamp(power, min=1e-10))
    raise ValueError(f"unknown compression {compression!r}")


def normalize_level(audio: torch.Tensor, target_db: float, max_gain_db: float = 30.0) -> torch.Tensor:
    """Each row of ``audio [batch, n]`` scaled to RMS ``target_db`` dBFS (gain within +-``max_gain_db``)."""
    rms = audio.square().mean(dim=-1, keepdim=True).sqrt().clamp_min(1e-9)
    gain_db = (target_db - 20 * torch.log10(rms)).clamp(-max_gain_db, max_gain_db)
    return audio * 10 ** (gain_db / 20)


def log_mel(audio: np.ndarray | torch.Tensor, params: MelParams) -> torch.Tensor:
    """Compressed mel spectrogram, ``torch.Tensor [shape=(batch, n_frames, n_mels)]``: the model input."""
    x = torch.as_tensor(audio, dtype=torch.float32)
    if params.normalize_db is not None:
        x = normalize_level(x if x.ndim == 2 else x[None], params.normalize_db)
    return compress(mel_power(x, params), params.compression)


# The input kinds a model can ask for (its class's ``feature`` attribute). A checkpoint's
# ``features`` dict holds the kind under "kind" plus that kind's parameters; with no "kind" it
# means log-mel (the musicnn-head recipe writes it so: see genre_model.models.REGISTRY).
FEATURE_KINDS = ("log-mel", "mfcc5", "tabular")


def feature_kind(features: dict) -> str:
    return features.get("kind", "log-mel")


def feature_params(features: dict) -> dict:
    return {k: v for k, v in features.items() if k != "kind"}


def model_input(features: dict, chunks: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """The model input for a batch of equal-length chunks ``[B, n]`` (float audio at the
    features' ``sample_rate``), computed the one way the app, the CLI and training share."""
    kind, params = feature_kind(features), feature_params(features)
    if kind == "log-mel":
        return log_mel(torch.as_tensor(chunks).to(device), MelParams.from_dict(params))
    if kind == "mfcc5":
        from .mfcc5 import Mfcc5Params, mfcc5_features
        p = Mfcc5Params.from_dict(params)
        return torch.from_numpy(np.stack([mfcc5_features(c, p) for c in chunks])).to(device)
    if kind == "tabular":
        from .tabular import tabular_features
        rows = [tabular_features(c, params["sample_rate"]) for c in chunks]
        return torch.from_numpy(np.stack(rows).astype(np.float32)).to(device)
    raise ValueError(f"unknown feature kind {kind!r} (known: {', '.join(FEATURE_KINDS)})")
