"""A model directory: the one place that knows its file names and how they are written.

    weights/<name>/  (or a class model's folder, see checkpoint.user_models_root)
      model.safetensors   weights + metadata (genre_model.checkpoint)
      eval_report.json    what training measured (genre_model.report.EvalReport)
      MODEL_CARD.md       written from the report (genre_model.model_card)
      curves.json/.png    training curves (models trained from scratch)
      teach_base.npz      the training rows the Teach page builds on (the default model)
      last/               the last epoch's weights, when early stopping kept an earlier one

Every file is written to a temporary name in the same folder and renamed into place
(:func:`atomic_write`): a killed process never leaves half a file for the app to read.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .report import EvalReport

WEIGHTS_FILE = "model.safetensors"
REPORT_FILE = "eval_report.json"
CARD_FILE = "MODEL_CARD.md"
CURVES_JSON = "curves.json"
CURVES_PNG = "curves.png"
TEACH_BASE_FILE = "teach_base.npz"
LAST_DIR = "last"
EXPORTED = (WEIGHTS_FILE, REPORT_FILE, CARD_FILE)   # what a class model's one-file export holds


@contextmanager
def atomic_path(path: str | os.PathLike, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block succeeds,
    removed when it fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)  # mkstemp creates 0600; model files are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)


@dataclass(frozen=True)
class ModelDir:
    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def name(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        """One of the directory's files, by its name above (e.g. ``TEACH_BASE_FILE``)."""
        return self.path / name

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS_FILE

    @property
    def report_path(self) -> Path:
        return self.path / REPORT_FILE

    def has_report(self) -> bool:
        return self.report_path.is_file()

    def read_report(self) -> EvalReport | None:
        """The evaluation report, or None when the directory has none."""
        if not self.has_report():
            return None
        return EvalReport.from_dict(json.loads(self.report_path.read_text()))

    def write_report(self, report: EvalReport) -> Path:
        return atomic_write(self.report_path, json.dumps(report.to_dict(), indent=1))

    def write_card(self, report: EvalReport, **extra) -> Path:
        from .model_card import render_card
        return atomic_write(self.file(CARD_FILE), render_card(report, **extra))

    def write_curves(self, curves: dict) -> None:
        from . import plots
        atomic_write(self.path / CURVES_JSON, json.dumps(curves, indent=1))
        with atomic_path(self.path / CURVES_PNG) as tmp:
            plots.training_curves(curves).savefig(tmp, format="png")
