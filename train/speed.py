"""CPU time per 30 s clip, the speed figure every evaluation report carries. Training measures it
at the end of a run, when other work may share the CPU; this command measures it again for saved
models, on a quiet machine, and stores it in their report and model card.

    python -m train.speed weights/default weights/cnn ...
"""

from __future__ import annotations

import sys
from pathlib import Path

from genre_model.model_dir import ModelDir


def cpu_seconds_per_30s_clip(model_dir: Path, repeats: int = 3) -> float:
    """Median CPU wall time to classify 30 s of generated 44.1 kHz music end to end (decode included)."""
    from genre_model import synth
    from genre_model.bench import median_predict_seconds
    from genre_model.predict import Classifier
    data = synth.wav_bytes(synth.music_like(30.0, sr=44100, seed=0), 44100)
    return round(median_predict_seconds(Classifier(model_dir, device="cpu"), data, repeats), 3)


def main(argv: list[str] | None = None) -> int:
    dirs = [ModelDir(Path(a)) for a in (sys.argv[1:] if argv is None else argv)]
    if not dirs:
        print(__doc__)
        return 2
    for model_dir in dirs:
        cpu_seconds_per_30s_clip(model_dir.path, repeats=1)  # warm-up: first-call allocations and caches
        seconds = cpu_seconds_per_30s_clip(model_dir.path, repeats=5)
        report = model_dir.read_report()
        report.cpu_seconds_per_30s_clip = seconds
        model_dir.write_report(report)
        model_dir.write_card(report)
        print(f"{model_dir.name}: {seconds} s per 30 s clip")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
