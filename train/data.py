"""Training-data helpers: content hashes, the training-set fingerprint, decode-or-skip. The folder
rules themselves (find_clips, LabelledClip) live in genre_model.datasets, shared with the app."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from torch import nn

from genre_model.audio import AudioClip, load_audio
from genre_model.datasets import LabelledClip
from genre_model.errors import AudioError


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
