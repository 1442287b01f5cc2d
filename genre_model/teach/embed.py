"""Embedding a class's clips for the Teach page: each clip once, clean and as :data:`ROOM_COPIES`
simulated noisy-classroom recordings, in non-overlapping chunks of the base model's length."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch

from ..checkpoint import ModelInfo
from ..chunking import chunk_spans, cut_chunks
from ..features import MelParams, log_mel
from ..models.musicnn import MusicnnGenre
from ..roomsim import simulate_room

ROOM_COPIES = 1


@dataclass
class ClassClip:
    """One of the class's clips, embedded: ``clean [n, D]`` and ``copies`` (noisy-room versions)."""

    key: str              # content hash of the decoded audio
    name: str
    label: str
    clean: np.ndarray
    copies: list[np.ndarray] = field(default_factory=list)
    copy_snr: list[float] = field(default_factory=list)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"clean": self.clean, **{f"copy{i}": c for i, c in enumerate(self.copies)},
                "copy_snr": np.array(self.copy_snr, dtype=np.float32)}

    @classmethod
    def from_arrays(cls, key: str, name: str, label: str, arrays: dict) -> "ClassClip":
        copies = [arrays[f"copy{i}"] for i in range(len(arrays["copy_snr"]))]
        return cls(key, name, label, arrays["clean"], copies, [float(s) for s in arrays["copy_snr"]])


def audio_key(samples: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float32).tobytes()).hexdigest()


@torch.inference_mode()
def _embed(model: MusicnnGenre, samples: np.ndarray, mel: MelParams, chunk_seconds: float) -> np.ndarray:
    # Non-overlapping chunks: half the work of the usual hop, and a class clip is short anyway.
    spans = chunk_spans(len(samples), sample_rate=mel.sample_rate, chunk_seconds=chunk_seconds,
                        hop_seconds=chunk_seconds)
    chunks = cut_chunks(samples, spans)
    return torch.cat([model.embed(log_mel(chunks[i:i + 8], mel)) for i in range(0, len(chunks), 8)]).numpy()


def embed_clip(model: MusicnnGenre, info: ModelInfo, samples: np.ndarray, *, name: str, label: str,
               seed: int = 0) -> ClassClip:
    """Embed a class clip (mono float32 at the base model's rate) clean and in simulated noisy
    rooms, with the spectrogram settings and chunk length of the base model (``model``, ``info``)."""
    mel, chunk_seconds = info.mel_params, info.chunk_seconds
    model.eval()
    key = audio_key(samples)
    rng = np.random.default_rng([seed, int(key[:12], 16)])
    clip = ClassClip(key, name, label, _embed(model, samples, mel, chunk_seconds))
    for _ in range(ROOM_COPIES):
        noisy, c = simulate_room(samples, mel.sample_rate, rng, profile="noisy-room")
        clip.copies.append(_embed(model, noisy, mel, chunk_seconds))
        clip.copy_snr.append(c.snr_db)
    return clip
