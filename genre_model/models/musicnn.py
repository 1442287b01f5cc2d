"""musicnn (Pons & Serra, MTG-UPF, ISC licence) re-implemented in PyTorch, plus our genre head.

The layer layout follows ``musicnn/models.py`` of the ``musicnn==0.1.0`` wheel
(``build_musicnn`` with the ``7774timbraltemporal`` front end, 64-filter mid-end and a
200-unit back end). Weights are converted from the wheel's TensorFlow checkpoint by
``train/convert_musicnn.py``; nothing here needs TensorFlow.

Input everywhere: ``torch.Tensor [shape=(batch, n_frames, 96)]``, musicnn's log-compressed mel
(``log10(10000 * power + 1)``, 16 kHz, n_fft 512, hop 256). The network pools over time, so any
number of frames works; it was trained on 187 (3 s).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .head import EmbeddingClassifier

N_MELS = 96
_BN_EPS = 1e-3  # TensorFlow's batch_normalization default, not PyTorch's 1e-5


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS)


def _bn1d(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=_BN_EPS)


class _TimbralBlock(nn.Module):
    """Conv over (7 frames x a band of mel bins), max-pooled over frequency."""

    def __init__(self, filters: int, freq_width: int):
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel_size=(7, freq_width))
        self.bn = _bn2d(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 1, T, F)
        y = self.bn(F.relu(self.conv(F.pad(x, (0, 0, 3, 3)))))
        return y.amax(dim=3)  # (B, filters, T)


class _TemporalBlock(nn.Module):
    """Conv over ``length`` frames of one mel bin with TensorFlow's 'same' padding."""

    def __init__(self, filters: int, length: int):
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel_size=(length, 1))
        self.bn = _bn2d(filters)
        self.pad = ((length - 1) // 2, length - 1 - (length - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(F.relu(self.conv(F.pad(x, (0, 0) + self.pad))))
        return y.amax(dim=3)


class _MidendLayer(nn.Module):
    def __init__(self, in_channels: int, filters: int):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, filters, kernel_size=7)
        self.bn = _bn1d(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        return self.bn(F.relu(self.conv(F.pad(x, (3, 3)))))


class MusiCNN(nn.Module):
    """The musicnn tagger. ``forward`` returns ``(tag_logits [B, n_tags], penultimate [B, 200])``."""

    def __init__(self, n_tags: int = 50, midend_filters: int = 64, backend_units: int = 200):
        super().__init__()
        self.input_bn = _bn2d(1)
        timbral_filters, temporal_filters = int(1.6 * 128), int(1.6 * 32)
        self.timbral = nn.ModuleList([_TimbralBlock(timbral_filters, int(0.4 * N_MELS)),
                                      _TimbralBlock(timbral_filters, int(0.7 * N_MELS))])
        self.temporal = nn.ModuleList([_TemporalBlock(temporal_filters, n) for n in (128, 64, 32)])
        front = 2 * timbral_filters + 3 * temporal_filters  # 561
        self.midend = nn.ModuleList([_MidendLayer(front, midend_filters),
                                     _MidendLayer(midend_filters, midend_filters),
                                     _MidendLayer(midend_filters, midend_filters)])
        pooled = 2 * (front + 3 * midend_filters)  # max and mean of 753 features
        self.pool_bn = _bn1d(pooled)
        self.dense = nn.Linear(pooled, backend_units)
        self.dense_bn = _bn1d(backend_units)
        self.tags = nn.Linear(backend_units, n_tags)
        self.embedding_size = backend_units

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Front and mid end, max- and mean-pooled over time, after the back end's batch norm: ``[B, 1506]``."""
        x = self.input_bn(x.unsqueeze(1))
        front = torch.cat([b(x) for b in self.timbral] + [b(x) for b in self.temporal], dim=1)
        m1 = self.midend[0](front)
        m2 = self.midend[1](m1) + m1
        m3 = self.midend[2](m2) + m2
        feats = torch.cat([front, m1, m2, m3], dim=1)  # (B, 753, T)
        # TensorFlow concatenated [max, mean] on a last axis and flattened: interleave them.
        pooled = torch.stack([feats.amax(dim=2), feats.mean(dim=2)], dim=2).flatten(1)
        return self.pool_bn(pooled)

    def back_end(self, pooled: torch.Tensor) -> torch.Tensor:
        """The 200-unit penultimate layer (after its batch norm) from :meth:`pool`'s output."""
        return self.dense_bn(F.relu(self.dense(pooled)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 200-unit penultimate layer (after its batch norm): ``[B, 200]``."""
        return self.back_end(self.pool(x))

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer a genre head may read: ``pooled [B, 1506]``, ``penultimate [B, 200]`` and
        ``tags [B, n_tags]`` (tag logits)."""
        pooled = self.pool(x)
        penultimate = self.back_end(pooled)
        return {"pooled": pooled, "penultimate": penultimate, "tags": self.tags(penultimate)}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.embed(x)
        return self.tags(emb), emb


class MusicnnGenre(EmbeddingClassifier):
    """Frozen MSD_musicnn backbone + :class:`GenreHead` reading one of its layers (``layer``:
    ``penultimate`` (200), ``pooled`` (1506), ``tags`` (50 tag logits) or ``penultimate+tags``)."""

    feature = "log-mel"
    LAYER_SIZES = {"penultimate": 200, "pooled": 1506, "tags": 50, "penultimate+tags": 250}

    def __init__(self, n_genres: int = 10, n_tags: int = 50, bank_size: int = 2048, layer: str = "penultimate",
                 tag_prior: bool = False):
        if layer not in self.LAYER_SIZES:
            raise ValueError(f"unknown musicnn layer {layer!r} (choose from {', '.join(self.LAYER_SIZES)})")
        super().__init__(self.LAYER_SIZES[layer], n_genres, bank_size)
        self.backbone = MusiCNN(n_tags=n_tags)
        self.layer = layer
        self.tag_prior = tag_prior
        if tag_prior:  # the backbone's tags weighed against the head, per genre (genre_model.tags)
            self.register_buffer("prior_map", torch.zeros(n_genres, n_tags))
            self.register_buffer("prior_weight", torch.zeros(n_genres))
            self.register_buffer("prior_bias", torch.zeros(n_genres))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return layer_embedding(self.backbone.outputs(x), self.layer)

    def judge(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The head's outputs (:meth:`GenreHead.judge`) and ``tags [B, 50]``: the probabilities of
        the Million Song Dataset tags the backbone was trained on (genre_model.tags.MSD_TAGS)."""
        outputs = self.backbone.outputs(x)
        out = self.head.judge(layer_embedding(outputs, self.layer)) | {"tags": torch.sigmoid(outputs["tags"])}
        out["logits"] = out["logits"] + self.prior_logits(out["tags"])
        return out

    def prior_logits(self, tags: torch.Tensor) -> torch.Tensor:
        """What the tags add to the calibrated genre logits (0 without a tag prior)."""
        if not self.tag_prior:
            return torch.zeros(())
        from ..tags import zero_shot
        return (self.prior_weight * zero_shot(tags, self.prior_map) + self.prior_bias) / self.head.temperature

    def logits_from_penultimate(self, emb: torch.Tensor) -> torch.Tensor:
        """Calibrated genre logits from the 200-unit embedding (the Teach page's stored rows)."""
        return self.head(emb) + self.prior_logits(torch.sigmoid(self.backbone.tags(emb)))


def layer_embedding(outputs: dict[str, torch.Tensor], layer: str) -> torch.Tensor:
    """The embedding a head reads from :meth:`MusiCNN.outputs` (``a+b`` concatenates layers)."""
    return torch.cat([outputs[name] for name in layer.split("+")], dim=-1)
