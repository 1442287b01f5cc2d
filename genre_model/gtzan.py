"""A teacher's own copy of GTZAN, in whatever layout it was downloaded.

GTZAN (Tzanetakis & Cook, 2002: 1000 clips of 30 s, 100 per genre) is shared in a few layouts:

- Kaggle's "GTZAN Dataset - Music Genre Classification": ``Data/genres_original/<genre>/<genre>.000NN.wav``
- the original archive (genres.tar.gz): ``genres/<genre>/<genre>.000NN.au``
- plain ``<genre>/<genre>.000NN.<ext>`` folders (any audio format this project reads)
- this project's data folder: ``gtzan_excerpts/``, ``gtzan_snippets/``, ``gtzan_full/``, each plain

:func:`scan` finds the clips in any of them from the folder the teacher chose (or a folder above
it), so the app can play a report's clip by its GTZAN id whatever layout produced the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from genre_model.datasets import AUDIO_SUFFIXES

GTZAN_FILE = re.compile(r"^([a-z]+)\.(\d{5})$")
EXPECTED = ("Kaggle's Data/genres_original/<genre>/<genre>.000NN.wav, the original genres/<genre>/<genre>.000NN.au, "
            "or plain <genre>/<genre>.000NN.wav folders")
# Where each layout keeps its <genre>/ folders, relative to the chosen folder (first match wins).
LAYOUTS = (
    ("Kaggle layout", ("Data/genres_original", "genres_original")),
    ("original layout", ("genres",)),
    ("plain layout", (".",)),
)
PROJECT_SETS = ("gtzan_full", "gtzan_excerpts", "gtzan_snippets")  # longest cut first


class GtzanFolderError(ValueError):
    """The folder holds no GTZAN clips in a known layout; the message says what was found."""


@dataclass
class GtzanFolder:
    root: Path
    layout: str
    clips: dict[str, list[Path]] = field(default_factory=dict)  # GTZAN id -> files (longest cut first)

    @property
    def genres(self) -> list[str]:
        return sorted({clip_id.split(".")[0] for clip_id in self.clips})

    def summary(self) -> str:
        n, g = len(self.clips), len(self.genres)
        return f"found {n} clip{'s' * (n != 1)} in {g} genre{'s' * (g != 1)}, {self.layout}"

    def path_for(self, relpath: str) -> Path | None:
        """The file for a report's clip path (``gtzan_snippets/rock/rock.00012.wav``, ``rock/rock.00012.au``...):
        the same file when this folder has it, else this folder's cut of the same GTZAN id."""
        exact = (self.root / relpath).resolve()
        if self.root in exact.parents and exact.is_file():
            return exact
        paths = self.clips.get(Path(relpath).stem)
        return paths[0] if paths else None

    def relpath(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def all_files(self) -> list[Path]:
        return [p for clip_id in sorted(self.clips) for p in self.clips[clip_id]]


def _genre_files(folder: Path) -> dict[str, list[Path]]:
    """GTZAN id -> files in ``folder/<genre>/<genre>.000NN.<audio>`` (the folder name must match the id)."""
    found: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return found
    for genre_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(genre_dir.iterdir()):
            m = GTZAN_FILE.match(f.stem)
            if m and m.group(1) == genre_dir.name and f.suffix.lower() in AUDIO_SUFFIXES and f.is_file():
                found.setdefault(f.stem, []).append(f)
    return found


def scan(folder: str | Path) -> GtzanFolder:
    """The GTZAN clips under ``folder`` in a known layout; raises GtzanFolderError saying what was
    found and what was expected."""
    root = Path(folder).expanduser()
    if not str(folder).strip():
        raise GtzanFolderError(f"No folder given: choose the folder you downloaded GTZAN to ({EXPECTED}).")
    if not root.is_dir():
        raise GtzanFolderError(f"There is no folder {root}. Choose the folder you downloaded GTZAN to ({EXPECTED}).")
    root = root.resolve()
    for layout, subdirs in LAYOUTS:
        for sub in subdirs:
            clips = _genre_files(root / sub)
            if clips:
                return GtzanFolder(root, layout, clips)
    merged: dict[str, list[Path]] = {}
    for name in PROJECT_SETS:
        for clip_id, paths in _genre_files(root / name).items():
            merged.setdefault(clip_id, []).extend(paths)
    if merged:
        return GtzanFolder(root, "project data layout (excerpts, snippets, full clips)", merged)
    seen = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir() if not p.name.startswith("."))
    listing = ", ".join(seen[:8]) + (f" and {len(seen) - 8} more" if len(seen) > 8 else "") if seen else "nothing"
    raise GtzanFolderError(f"No GTZAN clips in {root}: it holds {listing}. Expected {EXPECTED}.")
