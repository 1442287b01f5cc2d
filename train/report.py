"""The speed figure every evaluation report carries (the rest of a report is train/evaluation.py)."""

from __future__ import annotations

from pathlib import Path


def cpu_seconds_per_30s_clip(model_dir: Path, repeats: int = 3) -> float:
    """Median CPU wall time to classify 30 s of generated 44.1 kHz music end to end (decode included)."""
    from genre_model import synth
    from genre_model.bench import median_predict_seconds
    from genre_model.predict import Classifier
    data = synth.wav_bytes(synth.music_like(30.0, sr=44100, seed=0), 44100)
    return round(median_predict_seconds(Classifier(model_dir, device="cpu"), data, repeats), 3)
