"""Dealing items to k folds, stratified by label: shared by training's k-fold plans (train/splits.py)
and the Teach page's cross-validation of a class's clips."""

from __future__ import annotations

import numpy as np


def stratified_folds(labels: list[str], k: int, seed: int) -> np.ndarray:
    """Fold index per item: each label's items shuffled, then dealt round-robin to the k folds."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in sorted(set(labels)):
        members = np.flatnonzero(np.array(labels) == label)
        rng.shuffle(members)
        folds[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)  # rotate so small labels do not all start at fold 0
    return folds
