"""Benchmark: ``python -m genre_model.bench`` prints load time, speed and memory on this machine.

Inputs are generated (44.1 kHz stereo WAV files of synthetic music), so the figures need no data.
Targets (issue #2): 30 s clip end to end at least 30x real time; model load under 1 s after
import; a 10-minute file with peak memory growth under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

_T0 = time.perf_counter()
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from . import synth  # noqa: E402
from .predict import Classifier  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _T0


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PeakRss:
    """Samples this process's resident memory every 10 ms while active."""

    def __enter__(self):
        self.start = rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def median_predict_seconds(clf: Classifier, source, repeats: int = 5) -> float:
    """Median wall time of ``clf.predict(source)`` (decode + features + model), after one warm-up
    call that pays one-off allocations (a server pays those once too)."""
    clf.predict(source)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        clf.predict(source)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_music(path: Path, seconds: float, sr: int = 44100) -> None:
    """A stereo WAV of ``seconds`` synthetic music, written 30 s at a time (bounded memory)."""
    block = synth.music_like(30.0, sr=sr, seed=1)
    with sf.SoundFile(path, "w", samplerate=sr, channels=2, subtype="PCM_16") as f:
        left = int(seconds * sr)
        while left > 0:
            piece = block[: min(left, len(block))]
            f.write(np.stack([piece, piece * 0.9], axis=1))
            left -= len(piece)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--teach", action="store_true", help="only the Teach page figure: 40 clips of 15 s")
    args = parser.parse_args(argv)
    if args.teach:
        teach_benchmark()
        return
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"import torch + genre_model: {IMPORT_SECONDS:.2f} s")

    t = time.perf_counter()
    clf = Classifier(args.model)
    print(f"model load ({clf.name}, {clf.device}): {time.perf_counter() - t:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        short = Path(tmp) / "clip30.wav"
        write_music(short, 30.0)
        med = median_predict_seconds(clf, short, args.repeats)
        n_chunks = len(clf.predict(short).starts)
        print(f"30 s clip (44.1 kHz stereo WAV, {n_chunks} chunks of {clf.info.chunk_seconds:g} s, "
              f"hop {clf.info.hop_seconds:g} s): "
              f"median {med:.2f} s over {args.repeats} runs = {30.0 / med:.0f}x real time")

        long = Path(tmp) / "long.wav"
        write_music(long, args.long_minutes * 60)
        with PeakRss() as mem:
            t = time.perf_counter()
            pred = clf.predict(long)
            elapsed = time.perf_counter() - t
        size = long.stat().st_size / 1e6
        print(f"{args.long_minutes:g}-minute file ({size:.0f} MB WAV, {len(pred.starts)} chunks): {elapsed:.1f} s "
              f"= {args.long_minutes * 60 / elapsed:.0f}x real time; peak memory growth {mem.peak - mem.start:.0f} MB "
              f"(RSS {mem.start:.0f} -> peak {mem.peak:.0f} MB)")


def teach_benchmark(n_labels: int = 4, per_label: int = 10, seconds: float = 15.0) -> None:
    """A class of ``n_labels x per_label`` generated clips of ``seconds``, one of them a new label:
    the time to embed each clip (done once, when a clip is added) and to train and evaluate."""
    from .teach import embed_clip, load_base, teach
    clf = Classifier("default", device="cpu")
    base = load_base(clf.model_dir)
    styles = [("chiptune", lambda s: synth.tone(440 * 2 ** (s % 7 / 12), seconds, sr=16000)
               + 0.5 * synth.drum_pattern(seconds, sr=16000, bpm=150, seed=s)),
              ("rock", lambda s: synth.music_like(seconds, sr=16000, seed=s, bpm=130)),
              ("jazz", lambda s: synth.music_like(seconds, sr=16000, seed=100 + s, bpm=90)),
              ("classical", lambda s: synth.tone(220 * (1 + s / 20), seconds, sr=16000) + synth.tone(330, seconds, sr=16000))]
    clips, t = [], time.perf_counter()
    for label, make in styles[:n_labels]:
        for s in range(per_label):
            clips.append(embed_clip(clf.model, clf.info, make(s).astype(np.float32), name=f"{label}{s}", label=label))
    embed = time.perf_counter() - t
    t = time.perf_counter()
    result = teach(clf.model, clf.info, base, clips)
    fit = time.perf_counter() - t
    print(f"Teach: {len(clips)} clips of {seconds:g} s ({n_labels} labels, one new): embedding {embed / len(clips):.2f} s "
          f"per clip when it is added; training + {result.report.split.split(' ')[0]} cross-validation "
          f"{fit:.1f} s (target < 20 s); base rows {len(base.x)}")


if __name__ == "__main__":
    main()
