"""Command line: ``python -m genre_model predict FILE|FOLDER [...]`` and ``python -m genre_model models``.

A folder is searched recursively for audio files (sorted; other files are skipped with a note on
stderr). Exit status: 0 when every file was classified, 1 when any file failed (its error is printed
on stderr and the other files still run) or a folder held no audio, 2 for a usage error or a model
that cannot be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys

from .audio import DEFAULT_MAX_SECONDS, SUPPORTED_HINT
from .errors import AudioError, CheckpointError
from .predict import AGGREGATES, Classifier, Prediction
from .tags import hears_text


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genre_model", description="Music-genre classification (10 GTZAN genres).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="classify audio files or folders",
                       description=f"Classify audio files ({SUPPORTED_HINT}); a folder is searched recursively.")
    p.add_argument("files", nargs="+", metavar="FILE_OR_FOLDER")
    p.add_argument("--model", default="default", help="a model name in weights/ or a model directory (default: default)")
    p.add_argument("--chunk", type=_positive, help="chunk length in seconds (default: the model's own)")
    p.add_argument("--hop", type=_positive, help="hop between chunk starts in seconds (default: the model's own)")
    p.add_argument("--aggregate", choices=AGGREGATES, default="mean",
                   help="clip verdict by mean chunk probability or by majority vote of chunks (default: mean)")
    p.add_argument("--max-minutes", type=_positive, default=DEFAULT_MAX_SECONDS / 60, help="refuse longer files (default: 20)")
    p.add_argument("--device", help="torch device, e.g. cpu or cuda (default: cuda if available)")
    p.add_argument("--json", action="store_true", help="print one JSON object per file (JSON Lines)")
    sub.add_parser("models", help="list the shipped models (weights/) and the class models made on the Teach page")
    return parser


def format_human(path: str, pred: Prediction, aggregate: str) -> str:
    j = pred.judgement(aggregate)
    how = "mean probability" if aggregate == "mean" else "majority vote"
    said = f"Can't judge: {j.cannot_judge} (best guess {j.genre} {j.confidence:.0%}" if j.cannot_judge else \
        f"{j.genre} ({j.confidence:.0%}"
    lines = [f"{path}: {said}, {how} over {len(pred.starts)} chunks of {pred.duration:.1f} s audio)"]
    lines.append("  top 3: " + " | ".join(f"{g} {s:.0%}" for g, s in pred.top_k(3, aggregate)))
    quality = pred.quality()
    if quality["snr_db"] is not None:
        lines.append(f"  recording: music-to-noise about {quality['snr_db']:.0f} dB, "
                     f"no-music probability {quality['no_music']:.0%}")
    if pred.hears():
        lines.append(f"  the model hears: {hears_text(pred.hears())}")
    lines.extend(f"  note: {m}" for m in j.advice)
    lines.extend(f"  warning: {w}" for w in pred.warnings)
    lines.append(f"  {'start':>7} {'end':>7}  {'genre':<10} {'p':>5}")
    for s, e, g, p in zip(pred.starts, pred.ends, pred.chunk_genres, pred.probabilities.max(axis=1)):
        lines.append(f"  {s:7.2f} {e:7.2f}  {g:<10} {p:5.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "models":
        from .checkpoint import available_models, class_models, read_info, resolve_model_dir
        for name, kind in [(n, "shipped") for n in available_models()] + [(n, "class model") for n in class_models()]:
            info = read_info(resolve_model_dir(name))
            acc = info.metrics.get("accuracy_clean")
            print(f"{name}\t{kind}\t{info.arch}\t{len(info.labels)} labels"
                  + (f"\taccuracy {acc:.3f} ({info.metrics.get('split', '')})" if acc else ""))
        return 0
    if args.chunk and args.hop and args.hop > args.chunk:
        print("error: --hop must not be longer than --chunk (audio between chunks would be skipped)", file=sys.stderr)
        return 2
    try:
        clf = Classifier(args.model, device=args.device)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    paths, failed = _expand(args.files)
    for path in paths:
        try:
            clip = clf.load(path, max_seconds=args.max_minutes * 60)
            pred = clf.predict(clip, chunk_seconds=args.chunk, hop_seconds=args.hop)
        except AudioError as exc:
            print(f"error: {path}: {exc.message}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"file": path, **pred.to_dict(args.aggregate)}), flush=True)
        else:
            print(format_human(path, pred, args.aggregate), flush=True)
    return 1 if failed else 0


def _expand(items: list[str]) -> tuple[list[str], int]:
    """Files as given, and each folder's audio files (recursively, sorted; other files noted on
    stderr); also how many folders held no audio (each said on stderr)."""
    from pathlib import Path

    from .datasets import AUDIO_SUFFIXES
    paths, empty = [], 0
    for item in items:
        folder = Path(item)
        if not folder.is_dir():
            paths.append(item)
            continue
        files = sorted(f for f in folder.rglob("*")
                       if f.is_file() and not any(p.startswith(".") for p in f.relative_to(folder).parts))
        audio = [f for f in files if f.suffix.lower() in AUDIO_SUFFIXES]
        for other in files:
            if other.suffix.lower() not in AUDIO_SUFFIXES:
                print(f"note: skipping {other}: not an audio file ({SUPPORTED_HINT})", file=sys.stderr)
        if not audio:
            print(f"error: {item}: no audio files in this folder or below ({SUPPORTED_HINT})", file=sys.stderr)
            empty += 1
        paths += [str(f) for f in audio]
    return paths, empty


if __name__ == "__main__":
    sys.exit(main())
