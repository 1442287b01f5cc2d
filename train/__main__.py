"""python -m train --data PATH --arch ARCH --out weights/NAME [options]

Turns labelled audio (or a feature table) into a model directory the app and the CLI load:
model.safetensors, eval_report.json, curves.json/.png and MODEL_CARD.md.

Architectures (genre_model.models.REGISTRY; musicnn-head is the default model's recipe, with the
options of its own group below; tabular-mlp's --data is a table like features_30_sec.csv):
{architectures}

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

import textwrap

from genre_model.models import REGISTRY
from train.config import RunConfig
from train.variants import KINDS

ARCHS = tuple(REGISTRY)
D = RunConfig.default


def _architectures() -> str:
    return "\n".join(textwrap.fill(f"{a.name}: {a.summary} ({a.chunk_seconds:g} s chunks, hop {a.hop_seconds:g} s)",
                                    width=100, initial_indent="  ", subsequent_indent="      ")
                     for a in REGISTRY.values())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train",
                                description=__doc__.split("\n", 2)[2].format(architectures=_architectures()),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="TOML file of option values (long names, - or _)")
    p.add_argument("--data", nargs="+", help="training data: folder(s), CSV manifest, or feature table (required)")
    p.add_argument("--arch", choices=ARCHS, help="architecture (required)")
    p.add_argument("--out", help="model directory to write, e.g. weights/cnn (required)")
    p.add_argument("--seed", type=int, default=D("seed"), help="seed for splits, initialisation, batches, augmentation "
                                                                 "(%(default)s)")
    p.add_argument("--device", default=D("device"), help="auto (CUDA when available), cpu, cuda, cuda:1 ... (%(default)s)")
    p.add_argument("--split", choices=("kfold", "holdout"), default=D("split"), help="evaluation split (%(default)s)")
    p.add_argument("--folds", type=int, default=D("folds"), help="folds for --split kfold (%(default)s)")
    p.add_argument("--val-fraction", type=float, default=D("val_fraction"),
                   help="validation share for --split holdout (%(default)s)")
    p.add_argument("--split-files", help="folder with train/valid/test_filtered.txt (test part never trained on)")
    p.add_argument("--artists", help="artist index (<id>.wav ::: artist ::: title per line): artist-grouped folds")
    p.add_argument("--speech", help="folder of recorded speech for babble (else generated voices, + espeak-ng if installed)")
    p.add_argument("--background-clips", type=int, default=D("background_clips"),
                   help="music-free room recordings that teach the quality layer (%(default)s)")
    p.add_argument("--epochs", type=int, default=D("epochs"), help="maximum epochs per fit (%(default)s)")
    p.add_argument("--batch-size", type=int, default=D("batch_size"), help="chunks per batch, over all ranks (%(default)s)")
    p.add_argument("--lr", type=float, default=D("lr"), help="Adam learning rate (%(default)s)")
    p.add_argument("--weight-decay", type=float, default=D("weight_decay"), help="Adam weight decay (%(default)s)")
    p.add_argument("--patience", type=int, default=D("patience"),
                   help="epochs without a better validation accuracy before stopping (%(default)s)")
    p.add_argument("--augment", default=D("augment"),
                   help=f"comma-separated from {', '.join(KINDS)}, or none (%(default)s)")
    p.add_argument("--aug-copies", type=int, default=D("aug_copies"),
                   help="augmented copies per training clip for gain/noise/micsim/room (%(default)s)")
    p.add_argument("--chunk-seconds", type=float, help="chunk length (the architecture's own, listed above)")
    p.add_argument("--hop-seconds", type=float, help="hop between chunks (the architecture's own, listed above)")
    p.add_argument("--cache", default=D("cache"), help="cache of features, embeddings and voices (%(default)s)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out that was stopped")
    p.add_argument("--eval-data", help="also classify this labelled audio folder with the final model (report only)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    head = p.add_argument_group("musicnn-head only")
    head.add_argument("--mic-copies", type=int, default=D("mic_copies"),
                      help="fair room recordings per training clip (%(default)s)")
    head.add_argument("--room-copies", type=int, default=D("room_copies"),
                      help="noisy-classroom recordings per training clip (%(default)s)")
    head.add_argument("--layer", default=D("layer"),
                      help="musicnn layer the head reads: penultimate, pooled, tags, penultimate+tags (%(default)s)")
    head.add_argument("--l2", type=float, default=D("l2"), help="L2 penalty of the logistic-regression head (%(default)s)")
    head.add_argument("--finetune-epochs", type=int, default=D("finetune_epochs"),
                      help="also train musicnn's dense back end for N epochs (%(default)s)")
    head.add_argument("--tag-prior", action="store_true",
                      help="weigh the backbone's own Million Song Dataset tags (rock, hard rock, jazz, Hip-Hop...) "
                           "against the head, per genre, with weights fitted on held-out artists")
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
                clips.append(embed_clip(base.model, base.info, audio.samples, name=c.relpath, label=c.label,
                                        seed=args.seed))
        result = teach(base.model, base.info, load_base(base.model_dir), clips, seed=args.seed, name=Path(args.out).name)
    except (TeachError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    save_class_model(result, Path(args.out), replace=True)
    after, before = result.report.metrics.get("after"), result.report.metrics.get("before")
    print(f"{result.report.split}: {after.accuracy:.3f} (the {args.base} model: {before.accuracy:.3f}); "
          f"new labels: {', '.join(result.new_labels) or 'none'}; skipped {len(skipped)}; wrote {args.out}")
    return 0


def _print_summary(report, out: str) -> None:
    for ev in report.evaluations.values():
        m = ev.metrics
        room = m.get("noisy_room")
        print(f"{ev.description}: clean accuracy {m.clean.accuracy:.3f} {m.clean.accuracy_ci95} over {m.clean.n} files"
              + (f"; noisy rooms {room.accuracy:.3f}, confidently wrong {room.confidently_wrong:.3f}" if room else ""))
    print(f"skipped {len(report.extra.get('skipped', []))}; wrote {out} in {report.timings_s['total']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    command = "python -m train " + " ".join(shlex.quote(a) for a in argv)
    if args.arch == "musicnn-head" and args.base:
        return _teach(args)
    from train.recipe import start
    names = {f.name for f in fields(RunConfig)}
    cfg = RunConfig(**{k: v for k, v in vars(args).items() if k in names}, progress=not args.no_progress)
    try:
        report = start(cfg, command)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report.timings_s:
        _print_summary(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
