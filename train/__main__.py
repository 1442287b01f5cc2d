"""python -m train --data PATH --arch ARCH --out weights/NAME [options]

Turns labelled audio (or a feature table) into a model directory the app and the CLI load:
model.safetensors, eval_report.json, curves.json/.png and MODEL_CARD.md.

Architectures:
  musicnn-head  frozen MSD_musicnn embeddings + logistic-regression head (the default model's
                recipe; options --mic-copies, --l2, --musicnn-wheel, --backbone-from)
  cnn           4-block CNN on 3 s log-mel chunks
  crnn-gru      CNN front end + GRU over time
  crnn-lstm     CNN front end + LSTM over time
  mfcc5-cnn     CNN on MFCC, delta, delta-delta, beat-synchronous MFCC and chroma (5 channels)
  tabular-mlp   MLP on the 57 Kaggle features; --data is a table like features_30_sec.csv

Data: one or more folders of <label>/<audio files> (GTZAN's genres_original/ too; several
folders are one dataset, and a GTZAN id found in two of them is one clip), a CSV manifest with
columns path,label (paths relative to the manifest), or for tabular-mlp a feature table.
Unreadable files are skipped with a warning and counted in the report. Every clip weighs the
same whatever its length, and every genre the same.

Evaluation: --split kfold (default, --folds 5; out-of-fold report, then a final fit on every
clip) keeps every artist on one side when --artists names an index like gtzan_artists.txt (else
every clip id). --split-files DIR (train_filtered.txt / valid_filtered.txt / test_filtered.txt,
GTZAN's artist-filtered lists) removes the test part's clips from training altogether and adds a
second evaluation: trained on the train part, scored on the valid part. --split holdout
(--val-fraction) is a quick clip-level check. Held-out clips are also scored in simulated rooms.

A config file (--config FILE.toml) sets any option by its long name (e.g. epochs = 40,
augment = "specaugment,micsim"); the command line overrides it. Run data-parallel with
  torchrun --nproc_per_node N -m train ...
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tomllib
from dataclasses import fields

from train.augment import KINDS
from train.pipeline import DEFAULT_CACHE, TRAINED_ARCHS, RunConfig

ARCHS = ("musicnn-head",) + TRAINED_ARCHS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__.split("\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="TOML file of option values (long names, - or _)")
    p.add_argument("--data", nargs="+", help="training data: folder(s), CSV manifest, or feature table (required)")
    p.add_argument("--arch", choices=ARCHS, help="architecture (required)")
    p.add_argument("--out", help="model directory to write, e.g. weights/cnn (required)")
    p.add_argument("--seed", type=int, default=0, help="seed for splits, initialisation, batches, augmentation (0)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1 ... (auto)")
    p.add_argument("--split", choices=("kfold", "holdout"), default="kfold", help="evaluation split (kfold)")
    p.add_argument("--folds", type=int, default=5, help="folds for --split kfold (5)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="validation share for --split holdout (0.2)")
    p.add_argument("--split-files", help="folder with train/valid/test_filtered.txt (test part never trained on)")
    p.add_argument("--artists", help="artist index (<id>.wav ::: artist ::: title per line): artist-grouped folds")
    p.add_argument("--speech", help="folder of recorded speech for babble (else generated voices, + espeak-ng if installed)")
    p.add_argument("--background-clips", type=int, default=60,
                   help="music-free room recordings that teach the quality layer (60)")
    p.add_argument("--epochs", type=int, default=30, help="maximum epochs per fit (30)")
    p.add_argument("--batch-size", type=int, default=32, help="chunks per batch, over all ranks (32)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (1e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="Adam weight decay (1e-4)")
    p.add_argument("--patience", type=int, default=6, help="epochs without a better validation accuracy before stopping (6)")
    p.add_argument("--augment", default="specaugment,micsim,room",
                   help=f"comma-separated from {', '.join(KINDS)}, or none (specaugment,micsim,room)")
    p.add_argument("--aug-copies", type=int, default=2, help="augmented copies per training clip for gain/noise/micsim (2)")
    p.add_argument("--chunk-seconds", type=float, help="chunk length (3; 30 for tabular-mlp)")
    p.add_argument("--hop-seconds", type=float, help="hop between chunks (1.5; 30 for tabular-mlp)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help=f"feature cache folder ({DEFAULT_CACHE})")
    p.add_argument("--resume", action="store_true", help="continue the run in --out that was stopped")
    p.add_argument("--eval-data", help="also classify this labelled audio folder with the final model (report only)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    head = p.add_argument_group("musicnn-head only")
    head.add_argument("--mic-copies", type=int, help="fair room recordings per training clip (1)")
    head.add_argument("--room-copies", type=int, help="noisy-classroom recordings per training clip (3)")
    head.add_argument("--layer", help="musicnn layer the head reads: penultimate, pooled, tags, penultimate+tags")
    head.add_argument("--l2", type=float, help="L2 penalty of the logistic-regression head (1e-2)")
    head.add_argument("--finetune-epochs", type=int, help="also train musicnn's dense back end for N epochs (0)")
    head.add_argument("--musicnn-wheel", help="musicnn-0.1.0 wheel with the original weights")
    head.add_argument("--backbone-from", help="reuse the backbone of a saved model")
    head.add_argument("--base", help="teach this model (e.g. default) the clips in --data, with any labels, as the "
                                     "app's Teach page does: its training data plus these clips")
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    first = parser.parse_args(argv)
    if first.config:
        try:
            with open(first.config, "rb") as f:
                values = {k.replace("-", "_"): v for k, v in tomllib.load(f).items()}
        except (OSError, tomllib.TOMLDecodeError) as exc:
            parser.error(f"cannot read config file {first.config}: {exc}")
        known = {a.dest for a in parser._actions}
        unknown = sorted(set(values) - known)
        if unknown:
            parser.error(f"config file {first.config}: unknown option(s) {', '.join(unknown)}")
        parser.set_defaults(**values)
        first = parser.parse_args(argv)
    if isinstance(first.data, str):  # a config file's single path
        first.data = [first.data]
    missing = [f"--{n}" for n in ("data", "arch", "out") if not getattr(first, n)]
    if missing:
        parser.error(f"missing {', '.join(missing)} (on the command line or in the config file)")
    if first.arch not in ARCHS:
        parser.error(f"--arch must be one of {', '.join(ARCHS)}")
    return first


def _musicnn_head(args: argparse.Namespace, command: str) -> int:
    from dataclasses import replace
    from pathlib import Path

    from train import musicnn_head
    recipe = replace(musicnn_head.Recipe(), seed=args.seed, folds=args.folds, background_clips=args.background_clips,
                     **{k: getattr(args, k) for k in ("mic_copies", "room_copies", "layer", "l2", "finetune_epochs")
                        if getattr(args, k) is not None})
    cache = Path(args.cache) if args.cache != str(DEFAULT_CACHE) else musicnn_head.DEFAULT_CACHE
    try:
        report = musicnn_head.run(data=args.data, out=args.out, artists=args.artists, split_files=args.split_files,
                                  speech=args.speech, recipe=recipe, cache=cache, wheel=args.musicnn_wheel,
                                  backbone_from=args.backbone_from, command=command, progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_summary(report, args.out)
    return 0


def _teach(args: argparse.Namespace) -> int:
    """A class model from labelled folders: the same code path as the Teach page's button."""
    from pathlib import Path

    from genre_model.datasets import find_clips_in
    from genre_model.predict import Classifier
    from genre_model.teach import TeachError, embed_clip, load_base, save_class_model, teach
    from train.data import load_or_skip
    base = Classifier(args.base, device="cpu")
    skipped: list[dict] = []
    clips = []
    try:
        for c in find_clips_in(args.data):
            audio = load_or_skip(c, base.sample_rate, skipped)
            if audio is not None:
                clips.append(embed_clip(base.model, audio.samples, name=c.relpath, label=c.label,
                                        mel=base.info.mel_params, seed=args.seed))
        result = teach(base.model, base.info, load_base(base.model_dir), clips, seed=args.seed, name=Path(args.out).name)
    except (TeachError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    save_class_model(result, Path(args.out))
    after, before = result.report["metrics"]["after"], result.report["metrics"]["before"]
    print(f"{result.report['split']}: {after['accuracy']:.3f} (the {args.base} model: {before['accuracy']:.3f}); "
          f"new labels: {', '.join(result.report['new_labels']) or 'none'}; skipped {len(skipped)}; wrote {args.out}")
    return 0


def _print_summary(report: dict, out: str) -> None:
    for name, ev in report["evaluations"].items():
        m = ev["metrics"]
        room = m.get("noisy_room")
        print(f"{ev['description']}: clean accuracy {m['clean']['accuracy']:.3f} {m['clean']['accuracy_ci95']} over "
              f"{m['clean']['n']} files" + (f"; noisy rooms {room['accuracy']:.3f}, confidently wrong "
                                            f"{room['confidently_wrong']:.3f}" if room else ""))
    print(f"skipped {len(report.get('skipped', []))}; wrote {out} in {report['timings_s']['total']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    command = "python -m train " + " ".join(shlex.quote(a) for a in argv)
    if args.arch == "musicnn-head" and args.base:
        return _teach(args)
    if args.arch == "musicnn-head":
        return _musicnn_head(args, command)
    from train.pipeline import run
    names = {f.name for f in fields(RunConfig)}
    cfg = RunConfig(**{k: v for k, v in vars(args).items() if k in names}, progress=not args.no_progress)
    try:
        report = run(cfg, command)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report.get("timings_s"):
        _print_summary(report, args.out)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
