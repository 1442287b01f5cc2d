"""The architectures ``python -m train`` trains from scratch. Each is a body that turns one
chunk's features into an embedding, plus the same :class:`GenreHead` the default model uses
(a linear layer, and a bank of training embeddings for the novelty score). During training the
head's standardisation is the identity; the bank is filled after training.

Inputs (one chunk each):
- ``cnn``, ``crnn-gru``, ``crnn-lstm``: log-mel ``[B, n_frames, n_mels]``;
- ``mfcc5-cnn``: ``[B, 5, n_mfcc, n_frames]`` (see :mod:`genre_model.mfcc5`);
- ``tabular-mlp``: the 57 Kaggle features ``[B, 57]`` (see :mod:`genre_model.tabular`).
"""

from __future__ import annotations

import torch
from torch import nn

from .head import EmbeddingClassifier


def _conv_stack(c_in: int, channels, pool: tuple[int, int]) -> nn.Sequential:
    """3x3 conv -> BatchNorm -> ReLU -> max-pool, once per entry of ``channels``."""
    blocks = []
    for c in channels:
        blocks.append(nn.Sequential(nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                    nn.MaxPool2d(pool)))
        c_in = c
    return nn.Sequential(*blocks)


class MelCNN(EmbeddingClassifier):
    """Four 3x3 conv blocks over the log-mel image, then global average pooling."""

    feature = "log-mel"

    def __init__(self, n_genres: int = 10, channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.3,
                 bank_size: int = 2048):
        super().__init__(channels[-1], n_genres, bank_size)
        self.norm = nn.BatchNorm2d(1)  # learns the input's scale; log-mel values are not centred
        self.blocks = _conv_stack(1, channels, (2, 2))
        self.dropout = nn.Dropout(dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        y = self.blocks(self.norm(x.unsqueeze(1)))  # (B, C, T', F')
        return self.dropout(y.mean(dim=(2, 3)))


class CRNN(EmbeddingClassifier):
    """Conv blocks that pool frequency away, then a recurrent layer over time (mean of its outputs)."""

    feature = "log-mel"
    rnn_type = "gru"

    def __init__(self, n_genres: int = 10, n_mels: int = 96, channels: tuple[int, ...] = (16, 32, 64),
                 hidden: int = 64, dropout: float = 0.3, bank_size: int = 2048):
        super().__init__(hidden, n_genres, bank_size)
        self.norm = nn.BatchNorm2d(1)
        self.blocks = _conv_stack(1, channels, (2, 4))
        rnn = nn.GRU if self.rnn_type == "gru" else nn.LSTM
        self.rnn = rnn(channels[-1] * max(1, n_mels // 4 ** len(channels)), hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        y = self.blocks(self.norm(x.unsqueeze(1)))  # (B, C, T', F')
        y = y.permute(0, 2, 1, 3).flatten(2)       # (B, T', C * F')
        out, _ = self.rnn(y)
        return self.dropout(out.mean(dim=1))


class CrnnGru(CRNN):
    rnn_type = "gru"


class CrnnLstm(CRNN):
    rnn_type = "lstm"


class Mfcc5CNN(EmbeddingClassifier):
    """Three conv blocks over the 5-channel MFCC/delta/beat-MFCC/chroma image."""

    feature = "mfcc5"

    def __init__(self, n_genres: int = 10, channels: tuple[int, ...] = (32, 64, 64), dropout: float = 0.3,
                 bank_size: int = 2048):
        super().__init__(channels[-1], n_genres, bank_size)
        self.norm = nn.BatchNorm2d(5)  # MFCCs, deltas and chroma live on very different scales
        self.blocks = _conv_stack(5, channels, (2, 2))
        self.dropout = nn.Dropout(dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.blocks(self.norm(x)).mean(dim=(2, 3)))


class TabularMLP(EmbeddingClassifier):
    """Standardised Kaggle feature vector -> two hidden layers."""

    feature = "tabular"

    def __init__(self, n_genres: int = 10, n_features: int = 57, hidden: tuple[int, ...] = (256, 128),
                 dropout: float = 0.3, bank_size: int = 2048):
        super().__init__(hidden[-1], n_genres, bank_size)
        # Set from the training rows before training (set_input_statistics); saved with the weights.
        self.register_buffer("in_mean", torch.zeros(n_features))
        self.register_buffer("in_std", torch.ones(n_features))
        layers, d = [], n_features
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        self.mlp = nn.Sequential(*layers)

    def set_input_statistics(self, x: torch.Tensor) -> None:
        self.in_mean.copy_(x.mean(dim=0))
        self.in_std.copy_(x.std(dim=0).clamp_min(1e-8))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp((x - self.in_mean) / self.in_std)
