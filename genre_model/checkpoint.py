"""One checkpoint format: ``<model dir>/model.safetensors`` holding the weights, with the
metadata (architecture, labels, feature and chunk parameters, metrics, training-data
fingerprint, code version) as JSON in the safetensors header.

safetensors stores raw tensors only, so loading never executes code from the file (unlike a
pickled ``torch.save``). Writes go to a temporary file that is renamed into place
(:func:`genre_model.model_dir.atomic_path`), so a killed process never leaves half a checkpoint behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from . import __version__
from .errors import CheckpointError
from .features import MelParams, feature_kind, feature_params
from .model_dir import WEIGHTS_FILE, atomic_path
from .models import DEFAULT_CHUNK_SECONDS, DEFAULT_HOP_SECONDS, REGISTRY, build

FORMAT_VERSION = 1
_META_KEY = "genre_model"
WEIGHTS_ROOT = Path(__file__).resolve().parent.parent / "weights"



@dataclass
class ModelInfo:
    """Everything a checkpoint says about itself besides the tensors."""

    arch: str
    arch_params: dict
    labels: list[str]
    features: dict
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    hop_seconds: float = DEFAULT_HOP_SECONDS
    metrics: dict = field(default_factory=dict)
    training_data: dict = field(default_factory=dict)
    judgement: dict = field(default_factory=dict)  # genre_model.judgement.Rules, chosen on held-out artists
    description: str = ""
    licences: list[str] = field(default_factory=list)
    code_version: str = __version__
    format_version: int = FORMAT_VERSION

    @property
    def feature_kind(self) -> str:
        return feature_kind(self.features)

    @property
    def sample_rate(self) -> int:
        return int(self.features["sample_rate"])

    @property
    def mel_params(self) -> MelParams:
        """The model's own log-mel settings, or for models fed other features, a log-mel at the
        model's sample rate for the app's spectrogram view."""
        if self.feature_kind == "log-mel":
            return MelParams.from_dict(feature_params(self.features))
        return MelParams(sample_rate=self.sample_rate, n_fft=2048, hop_length=512, n_mels=128, compression="db")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelInfo":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def user_models_root() -> Path:
    """Where class models (made on the Teach page) live: ``GENRE_MODELS_DIR``, else the user's
    data folder. Never inside the project, never ``weights/``."""
    if os.environ.get("GENRE_MODELS_DIR"):
        return Path(os.environ["GENRE_MODELS_DIR"])
    from platformdirs import user_data_dir
    return Path(user_data_dir("genre-demo")) / "models"


def resolve_model_dir(name_or_dir: str | os.PathLike) -> Path:
    """A model directory from a path, a name in ``weights/`` or the name of a class model."""
    path = Path(name_or_dir)
    if (path / WEIGHTS_FILE).is_file() or path.suffix == ".safetensors":
        return path if path.is_dir() else path.parent
    for root in (WEIGHTS_ROOT, user_models_root()):
        candidate = root / str(name_or_dir)
        if (candidate / WEIGHTS_FILE).is_file():
            return candidate
    names = ", ".join(available_models() + class_models()) or "none"
    raise CheckpointError(f"No model named {str(name_or_dir)!r}: expected {WEIGHTS_ROOT / str(name_or_dir) / WEIGHTS_FILE} "
                          f"or a directory containing {WEIGHTS_FILE}. Known models: {names}.")


def available_models(root: Path = WEIGHTS_ROOT) -> list[str]:
    """Names of the model directories under ``root`` (``default`` first)."""
    names = sorted(p.parent.name for p in root.glob(f"*/{WEIGHTS_FILE}"))
    return sorted(names, key=lambda n: n != "default")


def class_models() -> list[str]:
    """Names of the class models in :func:`user_models_root` (never a shipped model's name)."""
    root = user_models_root()
    shipped = set(available_models())
    return [n for n in available_models(root) if n not in shipped] if root.is_dir() else []


def save_checkpoint(model: nn.Module, info: ModelInfo, directory: str | os.PathLike) -> Path:
    """Write ``model``'s weights and ``info`` to ``directory/model.safetensors`` atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(info.to_dict())})
    return directory / WEIGHTS_FILE


def read_info(directory: str | os.PathLike) -> ModelInfo:
    """The metadata of a checkpoint, without building the model."""
    path = Path(directory) / WEIGHTS_FILE
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(_META_KEY)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc}).") from None
    if raw is None:
        raise CheckpointError(f"{path} has no genre_model metadata; it was not written by save_checkpoint.")
    try:
        info = ModelInfo.from_dict(json.loads(raw))
    except (json.JSONDecodeError, TypeError) as exc:
        raise CheckpointError(f"{path} has unreadable metadata ({exc}).") from None
    if info.format_version > FORMAT_VERSION:
        raise CheckpointError(f"{path} uses checkpoint format {info.format_version}; this code reads up to "
                              f"{FORMAT_VERSION}. Update the project.")
    return info


def load_checkpoint(directory: str | os.PathLike, *, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelInfo]:
    """Build the model a checkpoint describes and load its weights (eval mode, on ``device``).

    Refuses, with :class:`CheckpointError`, a checkpoint whose architecture is unknown, whose
    labels or feature settings contradict the architecture, or whose tensors do not match it.
    """
    directory = Path(directory)
    info = read_info(directory)
    path = directory / WEIGHTS_FILE
    if info.arch not in REGISTRY:
        raise CheckpointError(f"{path}: unknown architecture {info.arch!r} (known: {', '.join(sorted(REGISTRY))}).")
    arch = REGISTRY[info.arch]
    # A pretrained backbone was built for its own input settings; a checkpoint that claims others is refused.
    required = MelParams.from_dict(feature_params(arch.features())) if arch.pretrained else None
    wanted = arch.feature
    if info.feature_kind != wanted:
        raise CheckpointError(f"{path}: architecture {info.arch} reads {wanted} features, "
                              f"but the metadata says {info.feature_kind!r}.")
    try:
        mel = info.mel_params
    except (TypeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: bad feature parameters ({exc!r}).") from None
    if required is not None and dataclasses.replace(mel, normalize_db=None) != required:
        raise CheckpointError(f"{path}: architecture {info.arch} needs features {required.to_dict()}, "
                              f"but the metadata says {info.features}.")
    try:
        model = build(info.arch, info.arch_params)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot build {info.arch} from {info.arch_params} ({exc}).") from None
    with safe_open(str(path), framework="pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(part for part in (
            f"missing {missing[:5]}" if missing else "",
            f"unexpected {unexpected[:5]}" if unexpected else "",
            f"wrong shape {[(k, tuple(state[k].shape), tuple(expected[k].shape)) for k in wrong[:5]]}" if wrong else "",
        ) if part)
        raise CheckpointError(f"{path}: the weights do not match architecture {info.arch}: {detail}.")
    model.load_state_dict(state)
    n_out = _n_outputs(model)
    if n_out is not None and n_out != len(info.labels):
        raise CheckpointError(f"{path}: the model has {n_out} outputs but the metadata lists {len(info.labels)} labels.")
    return model.to(device).eval(), info


def _n_outputs(model: nn.Module) -> int | None:
    head = getattr(model, "head", None)
    linear = getattr(head, "linear", None)
    return linear.out_features if isinstance(linear, nn.Linear) else None
