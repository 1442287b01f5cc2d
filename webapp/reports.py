"""Evaluation reports written by train/ next to each model's weights, and the user's collection
presented in the same shape, for the Explore and Compare pages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors import safe_open

from genre_model.checkpoint import WEIGHTS_FILE, WEIGHTS_ROOT, available_models, read_info
from genre_model.metrics import classification_report

REPORT_FILE = "eval_report.json"
COLLECTION = "My labelled clips"


def load_report(model: str, root: Path = WEIGHTS_ROOT) -> dict | None:
    path = root / model / REPORT_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def collection_report(rows: list[dict], labels: list[str]) -> dict:
    """The user's labelled clips as a report: same clip records, metrics from the same function train/ uses."""
    clips = []
    for r in rows:
        pred = r["prediction"]
        probs = [pred["probabilities"].get(g, 0.0) for g in labels]
        clips.append({
            "path": f"collection:{r['id']}", "name": r["name"], "label": r["label"], "predicted": r["predicted"],
            "confidence": round(max(probs), 4), "probabilities": probs, "model": r["model"],
            "chunks": [{"start": c["start"], "end": c["end"],
                        "probabilities": [c["probabilities"].get(g, 0.0) for g in labels]} for c in pred["chunks"]],
        })
    known = [c for c in clips if c["label"] in labels and c["predicted"] in labels]
    metrics = classification_report([labels.index(c["label"]) for c in known],
                                    [labels.index(c["predicted"]) for c in known], labels) if known else None
    return {"model": COLLECTION, "labels": labels, "clips": clips,
            "split": "clips you labelled (predictions as made when they were added)",
            "metrics": {"clean": metrics} if metrics else {}}


# Buffers, not learned parameters: BatchNorm statistics, the novelty bank, standardisation constants.
_NOT_PARAMETERS = ("running_mean", "running_var", "num_batches_tracked", "bank", "novelty_scale", "head.mean",
                   "head.std", "in_mean", "in_std")


def model_facts(model: str, root: Path = WEIGHTS_ROOT) -> dict:
    """Parameters and size on disk of a model, read from its weights file without building it."""
    path = root / model / WEIGHTS_FILE
    with safe_open(str(path), framework="pt") as f:
        params = sum(int(np.prod(f.get_slice(k).get_shape())) for k in f.keys()
                     if not k.endswith(_NOT_PARAMETERS))
    info = read_info(root / model)
    return {"model": model, "arch": info.arch, "parameters": params, "size_mb": round(path.stat().st_size / 1e6, 2),
            "metrics": info.metrics}


def comparison_rows(root: Path = WEIGHTS_ROOT) -> list[dict]:
    rows = []
    for model in available_models(root):
        facts = model_facts(model, root)
        report = load_report(model, root) or {}
        clean = report.get("metrics", {}).get("clean", {})
        rows.append({
            "model": model, "architecture": facts["arch"], "evaluation": report.get("split", "-"),
            "clips": clean.get("n"), "accuracy": clean.get("accuracy"),
            "95% interval": "-".join(f"{v:.2f}" for v in clean.get("accuracy_ci95", [])) or "-",
            "macro-F1": clean.get("macro_f1"),
            "accuracy (reference mic)": report.get("metrics", {}).get("reference_mic", {}).get("accuracy"),
            "parameters": facts["parameters"], "size (MB)": facts["size_mb"],
            "CPU s per 30 s clip": report.get("cpu_seconds_per_30s_clip"),
            "training time (s)": report.get("timings_s", {}).get("total"),
        })
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The comparison rows as a Markdown table (the README's is printed by ``python -m webapp.reports``)."""
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3f}" if v < 1 else f"{v:g}"
        return f"{v:,}" if isinstance(v, int) else str(v)
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table(comparison_rows()))
