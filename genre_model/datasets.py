"""Dataset-folder rules shared by training, the app and the CLI.

- A folder of ``<label>/<audio files>`` (GTZAN's ``genres_original/`` layout included) is a
  labelled dataset; several folders can be read as one (:func:`find_clips_in`).
- A GTZAN id (``<genre>.000NN``) names one recording wherever it appears: the same id in two
  folders is two cuts of one clip, and every split keeps them together (:attr:`LabelledClip.clip_id`).
- ``gtzan_artists.txt`` (``<genre>.000NN.wav ::: artist ::: title``) gives each id an artist, so
  splits can keep every artist on one side (:func:`read_artists`, :func:`artist_group`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".au", ".m4a", ".aac"}
_GTZAN_ID = re.compile(r"^[a-z]+\.\d{5}$")


@dataclass(frozen=True)
class LabelledClip:
    """One labelled audio file. ``relpath`` is relative to its data root, with forward slashes
    (what reports store); ``source`` names the root folder when several roots are read as one."""

    path: Path       # absolute
    relpath: str
    label: str
    source: str = ""

    @property
    def clip_id(self) -> str:
        """The recording this file is a cut of: the GTZAN id (``blues.00012``) when the file is
        named like one, else the relative path, so unrelated files never merge."""
        stem = Path(self.relpath).stem
        if _GTZAN_ID.match(stem):
            return stem
        return self.relpath


def data_root(folder: str | Path) -> Path:
    """The folder whose ``<label>/`` subfolders hold the audio (GTZAN's ``genres_original`` inside it)."""
    root = Path(folder).expanduser().resolve()
    return root / "genres_original" if (root / "genres_original").is_dir() else root


def find_clips(root: str | Path, *, source: str = "", base: Path | None = None) -> list[LabelledClip]:
    """Every audio file one folder below ``root`` (or below ``root/genres_original``), labelled by
    its folder, with paths relative to ``base`` (default: that folder). Raises FileNotFoundError
    with what is wrong when there is nothing to read."""
    root = data_root(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist")
    base = base or root
    clips = [
        LabelledClip(path=f, relpath=f.relative_to(base).as_posix(), label=f.parent.name, source=source)
        for f in sorted(root.glob("*/*"))
        if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES and not f.parent.name.startswith(".")
    ]
    if not clips:
        raise FileNotFoundError(f"no audio files in <label>/ folders under {root}")
    return clips


def common_root(folders: list[str | Path]) -> Path:
    """What the clips of several dataset folders are relative to: the folder itself when there is
    one, else the folders' common parent (so a report's paths resolve from one dataset folder)."""
    roots = [data_root(f) for f in folders]
    if len(roots) == 1:
        return roots[0]
    return Path(os.path.commonpath([str(r) for r in roots]))


def find_clips_in(folders: list[str | Path]) -> list[LabelledClip]:
    """The clips of several dataset folders, with paths relative to :func:`common_root`; each
    clip's ``source`` is its folder's name. A GTZAN id found in several folders must keep one label."""
    base = common_root(folders)
    clips: list[LabelledClip] = []
    for folder in folders:
        name = Path(folder).expanduser().resolve().name if len(folders) > 1 else ""
        clips += find_clips(folder, source=name, base=base)
    labels: dict[str, str] = {}
    for c in clips:
        if labels.setdefault(c.clip_id, c.label) != c.label:
            raise ValueError(f"{c.clip_id} is labelled {labels[c.clip_id]} in one folder and {c.label} in another")
    return clips


def read_artists(path: str | Path) -> dict[str, str]:
    """GTZAN id -> artist from an index like ``gtzan_artists.txt`` (blank artists are left out)."""
    artists = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        parts = [p.strip() for p in line.split(":::")]
        if len(parts) >= 2 and parts[0]:
            clip_id = Path(parts[0]).stem
            if parts[1]:
                artists[clip_id] = parts[1]
    return artists


def artist_group(clip_id: str, artists: dict[str, str]) -> str:
    """The group a clip's artist puts it in; a clip with no known artist is a group of its own."""
    artist = artists.get(clip_id, "").strip()
    return f"artist:{artist.casefold()}" if artist else f"clip:{clip_id}"
