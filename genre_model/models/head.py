"""The head every model ends in, and the base class of every model.

:class:`GenreHead` turns a chunk embedding into everything the app shows about a chunk:

- genre logits: the embedding standardised with training statistics, a linear layer, divided by
  a temperature fitted on held-out predictions (so the softmax is calibrated);
- novelty: the mean distance to the ``K_NEIGHBOURS`` nearest of a bank of training embeddings,
  divided by the 99th percentile of that distance among the training embeddings themselves
  (about 1.0 or more: as unusual as the rarest 1% of the training audio);
- recording quality, linear in the standardised embedding: what the chunk holds (music; no music,
  only a room: talk, crowd, clatter; or a sound unlike music: tones, noise, beeps) and an estimate
  of the music's signal-to-noise ratio in dB.
"""

from __future__ import annotations

import torch
from torch import nn


QUALITY_CLASSES = ("music", "room without music", "not music")


class GenreHead(nn.Module):
    K_NEIGHBOURS = 5

    def __init__(self, in_features: int, n_classes: int, bank_size: int = 2048):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("std", torch.ones(in_features))
        self.register_buffer("bank", torch.zeros(bank_size, in_features))
        self.register_buffer("novelty_scale", torch.ones(()))
        self.register_buffer("temperature", torch.ones(()))
        self.register_buffer("quality_fitted", torch.zeros(()))  # 1 once the quality layer is trained
        self.linear = nn.Linear(in_features, n_classes)
        # [logits of music / room without music / not music, SNR estimate in dB]
        self.quality = nn.Linear(in_features, len(QUALITY_CLASSES) + 1)
        nn.init.zeros_(self.quality.weight)
        nn.init.zeros_(self.quality.bias)
        # Fitted in closed form after training (train.evaluation), never by backprop: frozen, so
        # DistributedDataParallel does not wait for gradients that never come.
        self.quality.requires_grad_(False)

    def standardize(self, emb: torch.Tensor) -> torch.Tensor:
        return (emb - self.mean) / self.std

    def neighbour_distance(self, z: torch.Tensor, *, exclude_self: bool = False) -> torch.Tensor:
        k = self.K_NEIGHBOURS + int(exclude_self)
        d = torch.cdist(z, self.bank).topk(min(k, len(self.bank)), dim=1, largest=False).values
        return d[:, int(exclude_self):].mean(dim=1)

    def novelty(self, emb: torch.Tensor) -> torch.Tensor:
        return self.neighbour_distance(self.standardize(emb)) / self.novelty_scale

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """Calibrated genre logits ``[B, n_classes]``."""
        return self.linear(self.standardize(emb)) / self.temperature

    def judge(self, emb: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything about a batch of chunk embeddings: ``logits [B, n]`` (calibrated),
        ``novelty [B]``, ``no_music [B]`` (probability the chunk holds only a room: talk, crowd,
        clatter), ``not_music [B]`` (probability of a sound unlike music: a tone, noise) and
        ``snr_db [B]`` (the last three NaN when the quality layer was never trained)."""
        z = self.standardize(emb)
        quality = self.quality(z)
        fitted = bool(self.quality_fitted > 0)
        what = torch.softmax(quality[:, :3], dim=1) if fitted else torch.full_like(quality[:, :3], float("nan"))
        return {"logits": self.linear(z) / self.temperature, "novelty": self.neighbour_distance(z) / self.novelty_scale,
                "no_music": what[:, 1], "not_music": what[:, 2],
                "snr_db": quality[:, 3] if fitted else torch.full_like(quality[:, 3], float("nan"))}


class EmbeddingClassifier(nn.Module):
    """``embed(x) -> [B, dim]`` (defined by subclasses) followed by a :class:`GenreHead`."""

    feature = ""  # the input kind, see genre_model.features.model_input

    def __init__(self, dim: int, n_genres: int, bank_size: int):
        super().__init__()
        self.head = GenreHead(dim, n_genres, bank_size)

    @classmethod
    def from_params(cls, params: dict) -> "EmbeddingClassifier":
        return cls(**params)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def judge(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything about a batch of chunks (see :meth:`GenreHead.judge`)."""
        return self.head.judge(self.embed(x))
