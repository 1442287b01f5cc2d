"""Class models on disk: saving one as an ordinary model directory (staged, then swapped in), the
one-file export and import, names, and what the app lists about them."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from ..checkpoint import read_info, save_checkpoint
from ..errors import GenreModelError
from ..model_dir import EXPORTED, WEIGHTS_FILE, ModelDir
from .fit import TeachError, TeachResult

EXPORT_SUFFIX = ".genre-model.zip"


def save_class_model(result: TeachResult, target: Path, *, replace: bool = False) -> Path:
    """Write the class model to ``target`` as an ordinary model directory (checkpoint, report, card).
    It is written in a temporary folder beside ``target`` and renamed into place, so an interrupted
    save never leaves half a model and an old model there stays usable until the swap."""
    target = Path(target)
    if target.exists() and not replace:
        raise TeachError(f"A class model named “{target.name}” exists: tick “Replace” or choose another name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        out = ModelDir(staging / target.name)
        save_checkpoint(result.model, result.info, out.path)
        report = dataclasses.replace(result.report, model=target.name)
        out.write_report(report)
        out.write_card(report, licences=list(result.info.licences))
        old = None
        if target.exists():
            old = target.parent / f".{target.name}-old-{time.time_ns()}"
            target.rename(old)
        out.path.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def export_model(directory: Path) -> bytes:
    """A model directory as one zip file (checkpoint, report, card)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in EXPORTED:
            path = Path(directory) / name
            if path.is_file():
                zf.write(path, name)
    return buf.getvalue()


def import_model(data: bytes, root: Path, name: str, *, reserved: set[str]) -> Path:
    """Install an exported model as ``root/name``; refuses a file that is not one, a name that is
    taken or reserved (the shipped models), and a checkpoint that does not load."""
    from ..checkpoint import load_checkpoint
    name = check_model_name(name, reserved=reserved)
    target = Path(root) / name
    if target.exists():
        raise TeachError(f"A model named “{name}” already exists: choose another name or delete it first.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise TeachError("This is not an exported model (expected a .genre-model.zip file).") from None
    if WEIGHTS_FILE not in names or names - set(EXPORTED):
        raise TeachError("This zip file is not an exported model: it must hold model.safetensors (and only the "
                         "model's report and card).")
    staging = Path(root) / f".import-{name}"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        for member in names:
            (staging / member).write_bytes(zf.read(member))
        load_checkpoint(staging)  # refuses anything that is not a valid checkpoint, without running code
        staging.rename(target)
    except GenreModelError as exc:
        raise TeachError(f"The exported model cannot be used: {exc}") from None
    finally:
        if staging.exists():
            for f in staging.iterdir():
                f.unlink()
            staging.rmdir()
    return target


def check_model_name(name: str, *, reserved: set[str]) -> str:
    text = (name or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,39}", text):
        raise TeachError("A model name uses 1-40 letters, digits, - and _ (no spaces), starting with a letter or digit.")
    if text in reserved:
        raise TeachError(f"“{text}” is a shipped model's name: choose another name (shipped models are never "
                         "overwritten).")
    return text


def class_model_info(directory: Path) -> dict:
    """What the app lists about a class model."""
    info = read_info(directory)
    return {"name": Path(directory).name, "labels": info.labels, "clips": info.training_data.get("n_class_clips"),
            "accuracy": info.metrics.get("accuracy_clean")}
