"""Honest splits, always at clip level: every chunk (and every augmented copy) of a clip stays on
the clip's side. Splitting chunks instead is the classic leak that inflates GTZAN numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genre_model.folds import stratified_folds

SPLIT_FILES = {"train": "train_filtered.txt", "valid": "valid_filtered.txt", "test": "test_filtered.txt"}


@dataclass
class Stage:
    """One training run: fit on ``train``, stop early on ``val`` (may be empty), report ``test``.
    ``train_all``: what a model that needs no early stopping trains on (default: train and val)."""

    name: str
    train: list[int]
    val: list[int]
    test: list[int]
    train_all: list[int] | None = None


@dataclass
class Plan:
    description: str        # goes into the report as "split"
    stages: list[Stage]
    refit_all: bool          # k-fold: finish with a fit on every clip
    notes: dict = field(default_factory=dict)


def grouped_stratified_folds(labels: list[str], groups: list[str], k: int, seed: int) -> np.ndarray:
    """Fold index per clip such that every group (an artist, or a clip id) lies in one fold, and
    each label is spread over the folds as evenly as whole groups allow.

    Groups are placed largest first (ties in a seeded random order), each into the fold where it
    leaves the labels' shares of the folds most even (the heuristic of scikit-learn's
    StratifiedGroupKFold), with the emptier fold winning ties.
    """
    labels_arr, groups_arr = np.asarray(labels), np.asarray(groups)
    names = sorted(set(labels))
    keys = sorted(set(groups))
    counts = np.array([[np.sum((groups_arr == g) & (labels_arr == l)) for l in names] for g in keys], dtype=float)
    totals = counts.sum(axis=0)
    order = np.random.default_rng(seed).permutation(len(keys))
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    fold_counts = np.zeros((k, len(names)))
    fold_of_group = {}
    for gi in order:
        best, best_cost = 0, None
        for f in range(k):
            trial = fold_counts.copy()
            trial[f] += counts[gi]
            cost = (float(np.mean(np.std(trial / totals, axis=0))), trial[f].sum())
            if best_cost is None or cost < best_cost:
                best, best_cost = f, cost
        fold_counts[best] += counts[gi]
        fold_of_group[keys[gi]] = best
    return np.array([fold_of_group[g] for g in groups], dtype=np.int64)


def kfold_plan(labels: list[str], k: int, seed: int, groups: list[str] | None = None) -> Plan:
    """Fold f is the test side; fold f+1 is the validation side for early stopping; the rest trains.
    With ``groups`` (artists), no group is ever on two sides."""
    if k < 3:
        raise ValueError("k-fold needs at least 3 folds (test, validation and training sides)")
    if groups is not None and len(set(groups)) < k:
        raise ValueError(f"{len(set(groups))} artist groups cannot fill {k} folds; use fewer folds")
    folds = stratified_folds(labels, k, seed) if groups is None else grouped_stratified_folds(labels, groups, k, seed)
    stages = [Stage(f"fold{f}", train=[i for i, g in enumerate(folds) if g not in (f, (f + 1) % k)],
                    val=[i for i, g in enumerate(folds) if g == (f + 1) % k],
                    test=[i for i, g in enumerate(folds) if g == f]) for f in range(k)]
    what = "artist-grouped stratified" if groups is not None else "stratified clip-level"
    return Plan(f"{k}-fold {what} CV, out-of-fold", stages, refit_all=True)


def holdout_plan(labels: list[str], fraction: float, seed: int) -> Plan:
    """A fixed stratified validation split (at least one clip of each label when it has two)."""
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for label in sorted(set(labels)):
        members = np.flatnonzero(np.array(labels) == label)
        rng.shuffle(members)
        n = min(len(members) - 1, max(1, round(fraction * len(members))))
        val += sorted(members[:n].tolist())
    train = [i for i in range(len(labels)) if i not in set(val)]
    return Plan(f"fixed stratified validation split ({fraction:.0%}, seed {seed}); the reported clips are the "
                "validation clips early stopping used", [Stage("holdout", train, sorted(val), sorted(val))],
                refit_all=False)
