"""Training data sources: a folder of ``<label>/<audio>`` (GTZAN layouts included), a CSV
manifest of ``path,label`` rows, or a feature table in the layout of GTZAN's
``features_30_sec.csv`` (for ``tabular-mlp``). Every clip gets a path relative to the data root,
which is what reports store and the app's explorer resolves."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genre_model.tabular import COLUMNS
from genre_model.datasets import AUDIO_SUFFIXES, LabelledClip, common_root, find_clips_in


@dataclass
class Source:
    kind: str                                   # "folder", "manifest" or "table"
    root: Path                                  # what relative paths are relative to
    clips: list[LabelledClip]
    table: dict[str, np.ndarray] = field(default_factory=dict)  # relpath -> 57 features ("table" only)
    problems: list[dict] = field(default_factory=list)          # rows that could not be used

    @property
    def labels(self) -> list[str]:
        return sorted({c.label for c in self.clips})


def clip_key(relpath: str) -> str:
    """``blues/blues.00012.wav`` -> ``blues/blues.00012``: the id format of GTZAN's split lists."""
    return relpath.rsplit(".", 1)[0] if Path(relpath).suffix else relpath


def _header(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f), [])


def open_source(paths: str | Path | list) -> Source:
    """Recognise and read a data source: one or more folders of ``<label>/<audio>`` (read as one
    dataset, see :func:`genre_model.datasets.find_clips_in`), a CSV manifest, or a feature table.
    Raises FileNotFoundError/ValueError with what to fix."""
    paths = [Path(p) for p in (paths if isinstance(paths, (list, tuple)) else [paths])]
    if len(paths) > 1 or paths[0].is_dir():
        not_dirs = [str(p) for p in paths if not p.is_dir()]
        if not_dirs:
            raise FileNotFoundError(f"several data paths must all be folders of <label>/<audio files>: {', '.join(not_dirs)}")
        return Source("folder", common_root(paths), find_clips_in(paths))
    path = paths[0]
    if not path.is_file():
        raise FileNotFoundError(f"data path {path} does not exist")
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: expected a folder of <label>/<audio files>, a CSV manifest (path,label) "
                         "or a feature table like features_30_sec.csv")
    header = _header(path)
    if "filename" in header and "label" in header and all(c in header for c in COLUMNS):
        return _read_table(path)
    if "path" in header and "label" in header:
        return _read_manifest(path)
    raise ValueError(f"{path}: a CSV needs columns path,label (a manifest) or filename,label and the 57 "
                     f"feature columns of features_30_sec.csv; found {header[:8]}")


def _read_manifest(path: Path) -> Source:
    root = path.parent.resolve()
    clips, problems = [], []
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            rel, label = (row.get("path") or "").strip(), (row.get("label") or "").strip()
            file = (root / rel).resolve()
            if not rel or not label:
                problems.append({"path": rel, "error": f"line {line}: empty path or label"})
            elif file.suffix.lower() not in AUDIO_SUFFIXES:
                problems.append({"path": rel, "error": f"line {line}: not an audio file name"})
            else:
                relpath = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()
                clips.append(LabelledClip(path=file, relpath=relpath, label=label))
    for p in problems:
        print(f"warning: manifest {path.name}: {p['error']} ({p['path']!r})", file=sys.stderr)
    if not clips:
        raise ValueError(f"manifest {path} lists no usable clips")
    return Source("manifest", root, clips, problems=problems)


def _read_table(path: Path) -> Source:
    clips, table, problems = [], {}, []
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                values = np.array([float(row[c]) for c in COLUMNS], dtype=np.float32)
            except (TypeError, ValueError):
                values = None
            if values is None or not np.isfinite(values).all():
                problems.append({"path": row.get("filename", ""), "error": f"line {line}: missing or non-numeric features"})
                continue
            relpath = f"{row['label']}/{row['filename']}"
            clips.append(LabelledClip(path=path.parent / relpath, relpath=relpath, label=row["label"]))
            table[relpath] = values
    for p in problems:
        print(f"warning: table {path.name}: {p['error']} ({p['path']!r})", file=sys.stderr)
    if not clips:
        raise ValueError(f"feature table {path} has no usable rows")
    return Source("table", path.parent.resolve(), clips, table=table, problems=problems)
