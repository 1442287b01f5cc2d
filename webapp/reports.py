"""Evaluation reports written by train/ next to each model's weights, and the user's collection
presented in the same shape (genre_model.report.EvalReport), for the Explore and Compare pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors import safe_open

from genre_model.checkpoint import available_models, read_info, resolve_model_dir
from genre_model.errors import CheckpointError
from genre_model.metrics import classification_report
from genre_model.model_dir import ModelDir
from genre_model.report import NOISY_ROOM, ClipRecord, EvalReport, Metrics, Results

COLLECTION = "My labelled clips"


def report_headline(report: EvalReport) -> str:
    """One or two sentences on how a report's numbers were measured, and how far to trust them."""
    if report.model == COLLECTION:
        return f"Evaluation: {report.split}."
    if report.is_class_model:
        return f"Evaluation: {report.split}. Few clips from one classroom: rough numbers."
    text = f"Evaluation: {report.split}."
    if "artist-grouped" in report.split:
        text += " No artist is on both sides: these are the honest numbers for music the model has never heard."
    split = report.evaluations.get("split")
    if split and split.metrics.clean:
        c = split.metrics.clean
        text += (f" On the artist-filtered split (valid part, {c.n} files): {c.accuracy:.0%} "
                 f"({c.accuracy_ci95[0]:.0%}-{c.accuracy_ci95[1]:.0%}).")
    same = report.evaluations.get("same_artist_kfold")
    if same and same.metrics.clean:
        text += f" With artists on both sides (optimistic, not a fair test): {same.metrics.clean.accuracy:.0%}."
    elif "artist" not in report.split:
        text += " Artists repeat across these folds, so the numbers are optimistic for new music."
    return text


def load_report(model: str, root: Path | None = None) -> EvalReport | None:
    """A model's evaluation report (shipped or class model), or None when it has none."""
    try:
        directory = ModelDir(root / model if root else resolve_model_dir(model))
    except CheckpointError:
        return None
    return directory.read_report()


def collection_report(rows: list[dict], labels: list[str]) -> EvalReport:
    """The user's labelled clips as a report: same clip records, metrics from the same function train/ uses."""
    clips = []
    for r in rows:
        pred = r["prediction"]
        probs = [pred["probabilities"].get(g, 0.0) for g in labels]
        clips.append(ClipRecord(
            path=f"collection:{r['id']}", name=r["name"], label=r["label"], predicted=r["predicted"],
            confidence=round(max(probs), 4), probabilities=probs, extra={"model": r["model"]},
            chunks=[{"start": c["start"], "end": c["end"],
                     "probabilities": [c["probabilities"].get(g, 0.0) for g in labels]} for c in pred["chunks"]]))
    known = [c for c in clips if c.label in labels and c.predicted in labels]
    metrics = classification_report([labels.index(c.label) for c in known],
                                    [labels.index(c.predicted) for c in known], labels) if known else None
    return EvalReport(model=COLLECTION, arch="", labels=labels, clips=clips,
                      split="clips you labelled (predictions as made when they were added)",
                      metrics=Results({"clean": Metrics.from_dict(metrics)} if metrics else {}))


# Buffers, not learned parameters: BatchNorm statistics, the novelty bank, standardisation constants.
_NOT_PARAMETERS = ("running_mean", "running_var", "num_batches_tracked", "bank", "novelty_scale", "head.mean",
                   "head.std", "in_mean", "in_std")


def model_facts(model: str) -> dict:
    """Parameters and size on disk of a model, read from its weights file without building it."""
    directory = resolve_model_dir(model)
    path = ModelDir(directory).weights
    with safe_open(str(path), framework="pt") as f:
        params = sum(int(np.prod(f.get_slice(k).get_shape())) for k in f.keys()
                     if not k.endswith(_NOT_PARAMETERS))
    info = read_info(directory)
    return {"model": model, "arch": info.arch, "parameters": params, "size_mb": round(path.stat().st_size / 1e6, 2),
            "metrics": info.metrics}


def _pct(m: Metrics | None) -> str:
    if not m:
        return "-"
    lo, hi = m.accuracy_ci95
    return f"{m.accuracy:.0%} ({100 * lo:.0f}-{100 * hi:.0f}), n={m.n}"


def display_name(model: str, arch: str) -> str:
    return f"default ({arch})" if model == "default" else model


def comparison_rows(models: list[str] | None = None) -> list[dict]:
    """One row per model, the honest figures first (held-out artists, then the artist-filtered
    split, then noisy rooms); few enough columns to fit a projector."""
    rows = []
    for model in models if models is not None else available_models():
        facts = model_facts(model)
        report = load_report(model)
        m = report.metrics if report else Results()
        split = report.evaluations.get("split") if report else None
        room = m.get(NOISY_ROOM)
        calibration = report.judgement.calibration if report and report.judgement else None
        ece = calibration.clip_ece_after if calibration else None
        rows.append({
            "model": display_name(model, facts["arch"]),
            "held-out artists": _pct(m.clean),
            "split (valid part)": _pct(split.metrics.clean if split else None),
            "noisy rooms": _pct(room),
            "wrong, no warning": f"{room.confidently_wrong:.0%}" if room and room.confidently_wrong is not None else "-",
            "ECE": round(ece, 3) if ece is not None else None,
            "CPU s / 30 s": report.cpu_seconds_per_30s_clip if report else None, "MB": facts["size_mb"],
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
