"""The evaluation report's pieces, shared by every architecture's training: one record per
evaluated clip (the explorer page reads these), the metric summary, and the speed figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genre_model.metrics import classification_report


def _probs(p: np.ndarray) -> list[float]:
    return [round(float(v), 5) for v in p]


def clip_record(relpath: str, label: str, genres: list[str], chunk_probs: np.ndarray, starts, ends, *,
                fold: int | str, reference_probs: np.ndarray | None = None) -> dict:
    """One held-out clip: verdict by mean chunk probability, every chunk's probabilities, and the
    verdict for the same clip through the reference microphone condition when given."""
    mean = chunk_probs.mean(axis=0)
    record = {
        "path": relpath, "label": label, "fold": fold,
        "predicted": genres[int(mean.argmax())], "confidence": round(float(mean.max()), 4),
        "probabilities": _probs(mean),
        "chunks": [{"start": round(float(s), 3), "end": round(float(e), 3), "probabilities": _probs(row)}
                   for s, e, row in zip(starts, ends, chunk_probs)],
    }
    if reference_probs is not None:
        record["reference_mic"] = genres[int(reference_probs.mean(axis=0).argmax())]
    return record


def summarize(records: list[dict], genres: list[str]) -> dict:
    """Metrics over the records: clean clips, chunks, and the simulated / reference microphone
    conditions where the records have them."""
    y = [genres.index(r["label"]) for r in records]
    out = {"clean": classification_report(y, [genres.index(r["predicted"]) for r in records], genres)}
    if all("simulated_mic" in r for r in records):
        sims = [(genres.index(r["label"]), s) for r in records for s in r["simulated_mic"]]
        sim = classification_report([t for t, _ in sims], [genres.index(s["predicted"]) for _, s in sims], genres)
        # Accuracy by recording condition: what a teacher can control (background noise) matters most.
        by_snr = {}
        for name, low, high in (("5-15 dB", 5, 15), ("15-30 dB", 15, 30.01)):
            hits = [genres.index(s["predicted"]) == t for t, s in sims if low <= s["conditions"]["snr_db"] < high]
            by_snr[name] = {"n": len(hits), "accuracy": round(float(np.mean(hits)), 4) if hits else None}
        sim["by_snr"] = by_snr
        out["simulated_mic"] = sim
    if all("reference_mic" in r for r in records):
        out["reference_mic"] = classification_report(y, [genres.index(r["reference_mic"]) for r in records], genres)
    chunk_true = [genres.index(r["label"]) for r in records for _ in r["chunks"]]
    chunk_pred = [int(np.argmax(c["probabilities"])) for r in records for c in r["chunks"]]
    chunk = classification_report(chunk_true, chunk_pred, genres)
    out["chunks_clean"] = {k: chunk[k] for k in ("n", "accuracy", "accuracy_ci95", "macro_f1")}
    return out


def cpu_seconds_per_30s_clip(model_dir: Path, repeats: int = 3) -> float:
    """Median CPU wall time to classify 30 s of generated 44.1 kHz music end to end (decode included)."""
    from genre_model import synth
    from genre_model.bench import median_predict_seconds
    from genre_model.predict import Classifier
    data = synth.wav_bytes(synth.music_like(30.0, sr=44100, seed=0), 44100)
    return round(median_predict_seconds(Classifier(model_dir, device="cpu"), data, repeats), 3)

