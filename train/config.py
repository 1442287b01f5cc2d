"""The one configuration of a training run, for every architecture: ``python -m train`` fills it from
the command line (or a TOML file), and its defaults are the only defaults (the parser shows them)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from genre_model.models import architecture
from train.trainer import TrainConfig

# One cache for everything training computes: features/ (from-scratch models), embeddings/
# (musicnn-head), espeak/ (generated voices).
DEFAULT_CACHE = Path.home() / ".cache" / "genre_model"


@dataclass
class RunConfig:
    data: list[str] | str
    arch: str
    out: str
    seed: int = 0
    device: str = "auto"
    split: str = "kfold"          # kfold | holdout
    folds: int = 5
    val_fraction: float = 0.2
    split_files: str | None = None
    artists: str | None = None
    speech: str | None = None
    background_clips: int = 60    # music-free room recordings that teach the quality layer
    chunk_seconds: float | None = None   # None: the architecture's own (genre_model.models.REGISTRY)
    hop_seconds: float | None = None
    cache: str = str(DEFAULT_CACHE)
    resume: bool = False
    eval_data: str | None = None
    progress: bool = True
    # from-scratch networks: the training loop (train/trainer.py) and augmentation (train/variants.py)
    epochs: int = TrainConfig.epochs
    batch_size: int = TrainConfig.batch_size
    lr: float = TrainConfig.lr
    weight_decay: float = TrainConfig.weight_decay
    patience: int = TrainConfig.patience
    augment: str = "specaugment,micsim,room"
    aug_copies: int = 2
    # musicnn-head: the frozen backbone's head and its training copies
    mic_copies: int = 1
    room_copies: int = 3
    layer: str = "penultimate"
    l2: float = 1e-2
    finetune_epochs: int = 0      # > 0: also train musicnn's dense back end (layer penultimate/tags)
    normalize_db: float | None = None  # bring every chunk to this level before the spectrogram
    musicnn_wheel: str | None = None
    backbone_from: str | None = None
    optimistic: bool = True       # also report the same-artist k-fold (musicnn-head), labelled optimistic
    tag_prior: bool = False       # weigh the backbone's Million Song Dataset tags against the head, per genre

    def __post_init__(self):
        self.data = [self.data] if isinstance(self.data, (str, Path)) else list(self.data)
        arch = architecture(self.arch)
        self.chunk_seconds = self.chunk_seconds or arch.chunk_seconds
        self.hop_seconds = self.hop_seconds or arch.hop_seconds

    def train_config(self, *, epochs: int, seed: int, device: str) -> TrainConfig:
        return TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                           patience=self.patience, seed=seed, device=device)

    @classmethod
    def default(cls, name: str):
        """The default value of option ``name``."""
        return next(f.default for f in fields(cls) if f.name == name)
