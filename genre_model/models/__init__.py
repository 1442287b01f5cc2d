"""Architecture registry: the name stored in a checkpoint -> the class that builds it.

Every class has ``from_params(dict)``, a ``feature`` attribute naming the input it expects
(see :func:`genre_model.features.model_input`), and
``judge(features) -> {logits, novelty, no_music, snr_db}`` (see :mod:`genre_model.models.head`).
"""

from __future__ import annotations

from torch import nn

from .musicnn import MusicnnGenre
from .trained import CrnnGru, CrnnLstm, MelCNN, Mfcc5CNN, TabularMLP

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "musicnn-head": MusicnnGenre,
    "cnn": MelCNN,
    "crnn-gru": CrnnGru,
    "crnn-lstm": CrnnLstm,
    "mfcc5-cnn": Mfcc5CNN,
    "tabular-mlp": TabularMLP,
}


def build(arch: str, params: dict) -> nn.Module:
    if arch not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise KeyError(f"unknown architecture {arch!r} (known: {known})")
    return ARCHITECTURES[arch].from_params(params)
