"""Check our tabular extractor against the Kaggle table: for each excerpt, is the nearest table row
(standardised Euclidean distance over the 57 features) the excerpt's own clip?

    python -m train.kaggle_check --audio ../shared/data/gtzan_excerpts --table ../shared/data/features_30_sec.csv
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from genre_model.audio import load_audio
from genre_model.tabular import COLUMNS, SAMPLE_RATE, tabular_features
from genre_model.datasets import find_clips


def read_table(path: str | Path) -> tuple[list[str], np.ndarray, list[str]]:
    """(file names, features ``[rows, 57]`` in COLUMNS order, labels) of a features_30_sec.csv-style table."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in COLUMNS if c not in rows[0]]
    if missing:
        raise ValueError(f"{path} lacks columns {missing[:5]}")
    return ([r["filename"] for r in rows], np.array([[float(r[c]) for c in COLUMNS] for r in rows]),
            [r["label"] for r in rows])


def nearest_row_check(audio_root: str | Path, table: str | Path, progress: bool = True) -> dict:
    names, x, _ = read_table(table)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-12
    z = (x - mean) / std
    hits, results = 0, []
    for clip in tqdm(find_clips(audio_root), desc="tabular features", disable=not progress):
        samples = load_audio(clip.path, sample_rate=SAMPLE_RATE).samples
        q = (tabular_features(samples) - mean) / std
        d = np.sqrt(((z - q) ** 2).sum(axis=1))
        nearest = names[int(np.argmin(d))]
        own = Path(clip.relpath).name
        hits += nearest == own
        results.append({"clip": clip.relpath, "nearest": nearest, "own_row_rank": int((d < d[names.index(own)]).sum())
                        if own in names else None})
    return {"clips": len(results), "nearest_is_own": hits, "fraction": round(hits / max(1, len(results)), 4),
            "results": results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--out", help="write the per-clip results as JSON here")
    args = parser.parse_args(argv)
    report = nearest_row_check(args.audio, args.table)
    print(f"nearest table row is the clip's own: {report['nearest_is_own']} of {report['clips']} "
          f"({report['fraction']:.1%})")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
