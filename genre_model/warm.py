"""Compile librosa's numba code once, so the first classification with an MFCC or tabular model
does not pay ~20 s for it. ``scripts/setup.sh`` runs this after installing; numba keeps the
compiled code on disk (``cache=True``), so later processes start warm.

    python -m genre_model.warm
"""

from __future__ import annotations

import time


def main() -> int:
    started = time.time()
    from genre_model import synth
    from genre_model.mfcc5 import mfcc5_features
    from genre_model.tabular import SAMPLE_RATE, tabular_features
    y = synth.music_like(3.0, sr=SAMPLE_RATE, seed=0)
    mfcc5_features(y)
    tabular_features(y)
    print(f"librosa/numba warm-up: {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
