"""Classification metrics for the evaluation reports: accuracy with a 95% interval, precision,
recall (with its 95% interval) and F1 per genre, macro-F1 and the confusion matrix."""

from __future__ import annotations

import math

import numpy as np


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (sane at small n and at 0 or 100%)."""
    if total == 0:
        return (0.0, 0.0)
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``[n_classes, n_classes]`` counts; rows are true classes, columns predicted."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def recall_interval(confusion, i: int) -> list[float]:
    """95% Wilson interval of genre ``i``'s recall, from a confusion matrix (rows: true genres)."""
    cm = np.asarray(confusion)
    low, high = wilson_interval(int(cm[i, i]), int(cm[i].sum()))
    return [round(low, 4), round(high, 4)]


def classification_report(y_true, y_pred, labels: list[str]) -> dict:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = confusion_matrix(y_true, y_pred, len(labels))
    per_genre = {}
    f1s = []
    for i, name in enumerate(labels):
        tp = cm[i, i]
        precision = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        recall = tp / cm[i].sum() if cm[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_genre[name] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                           "recall_ci95": recall_interval(cm, i), "f1": round(float(f1), 4), "support": int(cm[i].sum())}
        if cm[i].sum():
            f1s.append(f1)
    correct, total = int(np.trace(cm)), int(cm.sum())
    low, high = wilson_interval(correct, total)
    return {
        "n": total,
        "accuracy": round(correct / total, 4) if total else 0.0,
        "accuracy_ci95": [round(low, 4), round(high, 4)],
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else 0.0,
        "per_genre": per_genre,
        "confusion": cm.tolist(),
    }
