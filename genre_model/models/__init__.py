"""Architecture registry: the name stored in a checkpoint -> the class that builds it.

Every class has ``from_params(dict)``, a ``feature`` attribute naming the input it expects, and
``logits_and_novelty(features) -> (logits [B, n_genres], novelty [B])``.
"""

from __future__ import annotations

from torch import nn

from .musicnn import MusicnnGenre

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "musicnn-head": MusicnnGenre,
}


def build(arch: str, params: dict) -> nn.Module:
    if arch not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise KeyError(f"unknown architecture {arch!r} (known: {known})")
    return ARCHITECTURES[arch].from_params(params)
