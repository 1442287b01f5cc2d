"""musicnn embeddings per chunk, with an on-disk cache keyed by content and parameters."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from genre_model.chunking import chunk_spans, cut_chunks
from genre_model.features import MelParams, log_mel
from genre_model.model_dir import atomic_path
from genre_model.models.musicnn import MusiCNN, layer_embedding
from train.data import state_sha256


def backbone_hash(backbone: MusiCNN) -> str:
    return state_sha256(backbone)[:16]


@torch.inference_mode()
def pooled_chunks(backbone: MusiCNN, samples: np.ndarray, *, mel: MelParams, chunk_seconds: float,
                  hop_seconds: float, batch_size: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """musicnn's pooled features of each chunk (every head layer derives from them, see
    :func:`layer_from_pooled`): (``[n_chunks, 1506]``, starts ``[n_chunks]``, ends ``[n_chunks]`` in s)."""
    spans = chunk_spans(len(samples), sample_rate=mel.sample_rate, chunk_seconds=chunk_seconds, hop_seconds=hop_seconds)
    out = []
    for first in range(0, len(spans), batch_size):
        batch = cut_chunks(samples, spans, slice(first, first + batch_size))
        out.append(backbone.pool(log_mel(batch, mel)).numpy())
    return np.concatenate(out), spans.start_times, spans.end_times


@torch.inference_mode()
def layer_from_pooled(backbone: MusiCNN, pooled: np.ndarray, layer: str) -> np.ndarray:
    """The embedding of ``layer`` (see :class:`genre_model.models.musicnn.MusicnnGenre`) computed
    from cached pooled features: the back end is a few small layers, so this costs nothing."""
    pooled_t = torch.as_tensor(pooled, dtype=torch.float32)
    penultimate = backbone.back_end(pooled_t)
    outputs = {"pooled": pooled_t, "penultimate": penultimate, "tags": backbone.tags(penultimate)}
    return layer_embedding(outputs, layer).numpy()


class EmbeddingCache:
    """``.npz`` files in ``directory``, one per (content hash, parameters, variant)."""

    def __init__(self, directory: str | Path, params: dict):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.params_key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]

    def _path(self, content_hash: str, variant: str) -> Path:
        return self.directory / f"{content_hash[:24]}-{self.params_key}-{variant}.npz"

    def get(self, content_hash: str, variant: str) -> dict | None:
        path = self._path(content_hash, variant)
        if not path.exists():
            return None
        with np.load(path) as data:
            return {k: data[k] for k in data.files}

    def put(self, content_hash: str, variant: str, **arrays: np.ndarray) -> None:
        with atomic_path(self._path(content_hash, variant)) as tmp:
            np.savez(tmp, **arrays)
