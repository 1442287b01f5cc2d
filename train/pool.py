"""The training pool and the honest evaluation plans every architecture shares.

- The pool: every clip of the data folders, minus (with ``--split-files``) the clips GTZAN's
  artist-filtered split puts in its test part, which no shipped model may train on, and the clips
  it leaves out as faulty. Each clip carries its GTZAN id, its artist group and its split side.
- Evaluation (a), the headline: artist-grouped stratified k-fold (no artist, and no GTZAN id, on
  two sides). Evaluation (b): train on the split's train part, score its valid part.
- The old clip-level k-fold, where artists repeat across folds, is kept only as an optimistic
  comparison.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from genre_model.datasets import LabelledClip, artist_group, read_artists
from train.splits import SPLIT_FILES, Plan, Stage, grouped_stratified_folds, kfold_plan


@dataclass
class Pool:
    clips: list[LabelledClip]
    sides: list[str]                     # "train" / "valid" from the split files, else ""
    groups: list[str]                    # artist group (see genre_model.datasets.artist_group)
    artists: list[str]                   # artist name, "" when unknown
    grouped_by_artist: bool
    notes: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.clips]

    @property
    def clip_ids(self) -> list[str]:
        return [c.clip_id for c in self.clips]


def read_split_lists(directory: str | Path) -> dict[str, str]:
    """GTZAN id -> "train" / "valid" / "test" from ``train_filtered.txt`` etc."""
    directory = Path(directory)
    sides = {}
    for side, name in SPLIT_FILES.items():
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"split file {path} is missing (expected {', '.join(SPLIT_FILES.values())})")
        for line in path.read_text().splitlines():
            if line.strip():
                sides[Path(line.strip()).name] = side
    return sides


def build_pool(clips: list[LabelledClip], *, split_dir: str | Path | None = None,
               artists_file: str | Path | None = None) -> Pool:
    """The clips a model may train on, with their sides and artist groups (see the module docstring)."""
    notes: dict = {}
    sides = {}
    if split_dir:
        sides = read_split_lists(split_dir)
        test = sorted({c.clip_id for c in clips if sides.get(c.clip_id) == "test"})
        unlisted = sorted({c.clip_id for c in clips if c.clip_id not in sides})
        clips = [c for c in clips if sides.get(c.clip_id) in ("train", "valid")]
        notes["excluded"] = {"test_part": {"n": len(test), "ids": test},
                             "not_in_split_lists": {"n": len(unlisted), "ids": unlisted}}
        if test:
            print(f"note: {len(test)} clip(s) of the split's test part are left out of training and evaluation "
                  f"(first: {test[0]})", file=sys.stderr)
        if not clips:
            raise ValueError(f"no clip of the data is in the train or valid lists of {split_dir}")
    artists = read_artists(artists_file) if artists_file else {}
    if artists_file:
        unknown = sorted({c.clip_id for c in clips if c.clip_id not in artists})
        notes["artists"] = {"file": Path(artists_file).name, "n_artists": len({artists[c.clip_id] for c in clips
                                                                              if c.clip_id in artists}),
                            "clips_without_artist": len(unknown)}
    return Pool(clips=clips, sides=[sides.get(c.clip_id, "") for c in clips],
                groups=[artist_group(c.clip_id, artists) if artists_file else f"clip:{c.clip_id}" for c in clips],
                artists=[artists.get(c.clip_id, "") for c in clips], grouped_by_artist=bool(artists_file),
                notes=notes)


def main_plan(pool: Pool, folds: int, seed: int) -> Plan:
    """Evaluation (a): k-fold with every artist group (or, without an artist index, every GTZAN
    id) on one side; fold f is tested, fold f+1 drives early stopping."""
    plan = kfold_plan(pool.labels, folds, seed, groups=pool.groups)
    if not pool.grouped_by_artist:
        plan.description = plan.description.replace("artist-grouped", "clip-grouped (no artist index given)")
    return plan


def optimistic_plan(pool: Pool, folds: int, seed: int) -> Plan:
    """The old same-artist k-fold: GTZAN ids stay together, artists do not. Optimistic."""
    ids = pool.clip_ids
    plan = kfold_plan(pool.labels, folds, seed, groups=[f"clip:{i}" for i in ids])
    plan.description = f"{folds}-fold clip-grouped CV, artists on both sides (optimistic), out-of-fold"
    return plan


def split_plan(pool: Pool, seed: int) -> Plan | None:
    """Evaluation (b): train on the split's train part, score its valid part. Early stopping uses
    a fifth of the train part's artists (never the scored clips). None without split files."""
    train = [i for i, s in enumerate(pool.sides) if s == "train"]
    valid = [i for i, s in enumerate(pool.sides) if s == "valid"]
    if not train or not valid:
        return None
    labels = [pool.labels[i] for i in train]
    held = grouped_stratified_folds(labels, [pool.groups[i] for i in train], 5, seed) == 0
    stage = Stage("split", train=[i for i, h in zip(train, held) if not h], val=[i for i, h in zip(train, held) if h],
                  test=valid, train_all=train)  # a model without early stopping trains on the whole train part
    return Plan(f"artist-filtered split: trained on its train part ({len(train)} files), scored on its valid part "
                f"({len(valid)} files)", [stage], refit_all=False)


def assert_disjoint(pool: Pool, plan: Plan, *, artists: bool = True) -> None:
    """Fail loudly if a GTZAN id, or (with ``artists``) an artist group, is on two sides of any
    stage (a leak)."""
    for stage in plan.stages:
        sides = {"train": stage.train, "val": stage.val, "test": stage.test,
                 "train (all)": stage.train_all if stage.train_all is not None else stage.train}
        for a, b in (("train", "test"), ("val", "test"), ("train", "val"), ("train (all)", "test")):
            if (a, b) == ("val", "test") and stage.val == stage.test:
                continue  # a holdout plan reports the clips it stopped on, and says so
            for key in (pool.groups, pool.clip_ids) if artists else (pool.clip_ids,):
                shared = {key[i] for i in sides[a]} & {key[i] for i in sides[b]}
                if shared:
                    raise AssertionError(f"{stage.name}: {sorted(shared)[:3]} on both the {a} and {b} sides")


def subset(pool: Pool, indices: list[int]) -> Pool:
    """The pool restricted to ``indices`` (e.g. the clips that could be decoded)."""
    return Pool(clips=[pool.clips[i] for i in indices], sides=[pool.sides[i] for i in indices],
                groups=[pool.groups[i] for i in indices], artists=[pool.artists[i] for i in indices],
                grouped_by_artist=pool.grouped_by_artist, notes=pool.notes)
