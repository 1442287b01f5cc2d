"""The architecture registry: the single source of what each architecture is.

Each entry says which class builds it (the name is stored in every checkpoint), what it reads
(its feature spec, see :func:`genre_model.features.model_input`), how it chunks audio by
default, and a one-line summary. ``python -m train``, the app's model list, How it works and the
model cards read it; a new architecture is its own module plus one entry here (ARCHITECTURE.md).

Every class has ``from_params(dict)``, a ``feature`` attribute naming the input it expects, and
``judge(features) -> {logits, novelty, no_music, not_music, snr_db}`` (see
:mod:`genre_model.models.head`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from ..features import MelParams
from ..mfcc5 import Mfcc5Params
from ..tabular import SAMPLE_RATE as TABLE_RATE
from .musicnn import MusicnnGenre
from .trained import CrnnGru, CrnnLstm, MelCNN, Mfcc5CNN, TabularMLP

DEFAULT_CHUNK_SECONDS = 3.0   # musicnn was trained on 3 s patches; every chunked model follows it
DEFAULT_HOP_SECONDS = 1.5     # half a chunk: every moment of the audio is heard by two chunks
WHOLE_CLIP_SECONDS = 30.0     # the tabular features summarise a whole 30 s GTZAN clip


@dataclass(frozen=True)
class Architecture:
    name: str
    cls: type[nn.Module]
    summary: str                     # one line: what the network is (model list, How it works, model card)
    network: str                     # who gives the genre probabilities, in plain words (How it works)
    features: Callable[[], dict]     # the checkpoint's ``features`` metadata for a new model
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    hop_seconds: float = DEFAULT_HOP_SECONDS
    pretrained: bool = False         # a frozen pretrained backbone and a fitted head, not trained from scratch

    @property
    def feature(self) -> str:
        return self.cls.feature

    def build(self, params: dict) -> nn.Module:
        return self.cls.from_params(params)


def _log_mel() -> dict:
    return {"kind": "log-mel", **MelParams().to_dict()}


REGISTRY: dict[str, Architecture] = {a.name: a for a in (
    Architecture(
        "musicnn-head", MusicnnGenre,
        "the MSD_musicnn network (Pons & Serra, MTG-UPF), ported to PyTorch with weights converted from the musicnn "
        "0.1.0 wheel, and a calibrated logistic-regression head on one of its layers",
        "the network (musicnn, trained on a million songs, plus our small genre layer)",
        # The recipe writes the plain MelParams with no "kind" (absent means log-mel): the shipped
        # default's metadata, and the Teach page's key for stored embeddings, stay as they are.
        features=lambda: MelParams().to_dict(), pretrained=True),
    Architecture("cnn", MelCNN, "a 4-block convolutional network on log-mel chunks (musicnn's front end: 16 kHz, "
                 "96 bands)", "the `cnn` network, trained from scratch on GTZAN", _log_mel),
    Architecture("crnn-gru", CrnnGru, "convolutional blocks on log-mel chunks followed by a GRU over time",
                 "the `crnn-gru` network, trained from scratch on GTZAN", _log_mel),
    Architecture("crnn-lstm", CrnnLstm, "convolutional blocks on log-mel chunks followed by an LSTM over time",
                 "the `crnn-lstm` network, trained from scratch on GTZAN", _log_mel),
    Architecture("mfcc5-cnn", Mfcc5CNN, "a 3-block convolutional network on 5 stacked channels per chunk: MFCC, "
                 "delta, delta-delta, beat-synchronous MFCC and chroma (22.05 kHz, librosa)",
                 "the `mfcc5-cnn` network, trained from scratch on GTZAN",
                 lambda: {"kind": "mfcc5", **Mfcc5Params().to_dict()}),
    Architecture("tabular-mlp", TabularMLP, "a two-layer MLP on the 57 Kaggle GTZAN features (librosa defaults at "
                 "22.05 kHz, mean and variance over the clip), computed over 30 s windows",
                 "the `tabular-mlp` network, trained from scratch on the Kaggle feature table",
                 lambda: {"kind": "tabular", "sample_rate": TABLE_RATE},
                 chunk_seconds=WHOLE_CLIP_SECONDS, hop_seconds=WHOLE_CLIP_SECONDS),
)}


def architecture(name: str) -> Architecture:
    if name not in REGISTRY:
        raise KeyError(f"unknown architecture {name!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]


def build(arch: str, params: dict) -> nn.Module:
    return architecture(arch).build(params)
