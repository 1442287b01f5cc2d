"""Find labelled audio: ``<root>/<label>/<file>`` (GTZAN's ``genres_original`` layout included)."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from genre_model.audio import AudioClip, load_audio
from genre_model.errors import AudioError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".au", ".m4a", ".aac"}


@dataclass(frozen=True)
class LabelledClip:
    path: Path       # absolute
    relpath: str     # relative to the data root, with forward slashes: what reports store
    label: str

    @property
    def clip_id(self) -> str:
        return Path(self.relpath).stem


def find_clips(root: str | Path) -> list[LabelledClip]:
    """Every audio file one folder below ``root`` (or below ``root/genres_original``), labelled by its folder."""
    root = Path(root).resolve()
    if (root / "genres_original").is_dir():
        root = root / "genres_original"
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist")
    clips = [
        LabelledClip(path=f, relpath=f.relative_to(root).as_posix(), label=f.parent.name)
        for f in sorted(root.glob("*/*"))
        if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES
    ]
    if not clips:
        raise FileNotFoundError(f"no audio files in <label>/ folders under {root}")
    return clips


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(clips: list[LabelledClip], hashes: dict[str, str]) -> str:
    """One hash for the whole training set: every clip's relative path, label and content hash."""
    h = hashlib.sha256()
    for c in sorted(clips, key=lambda c: c.relpath):
        h.update(f"{c.relpath}\t{c.label}\t{hashes[c.relpath]}\n".encode())
    return h.hexdigest()


def state_sha256(module: nn.Module) -> str:
    """sha256 over a module's tensors (names and bytes, in name order)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def load_or_skip(clip: LabelledClip, sample_rate: int, skipped: list[dict]) -> AudioClip | None:
    """The clip's audio, or None after a warning and an entry in ``skipped`` when it cannot be
    decoded: one bad file never stops a training run."""
    try:
        return load_audio(clip.path, sample_rate=sample_rate)
    except AudioError as exc:
        print(f"warning: skipping {clip.relpath}: {exc.message}", file=sys.stderr)
        skipped.append({"path": clip.relpath, "error": exc.message})
        return None
