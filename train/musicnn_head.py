"""The default model's recipe: frozen MSD_musicnn embeddings + a logistic-regression genre head,
trained on clean audio and on simulated microphone recordings of it.

    python -m train.musicnn_head --data ../shared/data/gtzan_excerpts --out weights/default

The original musicnn weights come from the ``musicnn==0.1.0`` wheel on PyPI, which this command
fetches once with ``pip download --no-deps`` (or give ``--musicnn-wheel PATH``); they are
converted by train/convert_musicnn.py without TensorFlow.

Evaluation: stratified k-fold cross-validation at clip level (all chunks of a clip, and all its
simulated copies, stay on one side). Each held-out clip is scored clean and as three simulated
recordings drawn from random streams the training copies never use. Then the head is refitted on
every clip and saved with the out-of-fold report and a model card.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from genre_model import __version__
from genre_model.checkpoint import ModelInfo, load_checkpoint, resolve_model_dir, save_checkpoint
from genre_model.features import MelParams
from genre_model.models.musicnn import MusiCNN, MusicnnGenre
from train.data import LabelledClip, file_sha256, find_clips, fingerprint, load_or_skip
from train.embeddings import EmbeddingCache, backbone_hash, embed_chunks
from train.head import fit_head, head_probabilities
from train.micsim import REFERENCE_CONDITIONS, simulate_microphone
from train.model_card import write_model_card
from train.report import clip_record, cpu_seconds_per_30s_clip, summarize
from train.splits import stratified_folds

DEFAULT_CACHE = Path.home() / ".cache" / "genre_model"
EVAL_STREAM = 1_000_003  # seeds the held-out simulated copies; training copies use 0..copies-1
EVAL_COPIES = 3  # simulated recordings scored per held-out clip


@dataclass
class Recipe:
    seed: int = 0
    folds: int = 5
    mic_copies: int = 4
    l2: float = 1e-2
    chunk_seconds: float = 3.0
    hop_seconds: float = 1.5


@dataclass
class ClipEmbeddings:
    clip: LabelledClip
    sha256: str
    clean: np.ndarray               # [n_chunks, 200]
    starts: np.ndarray
    ends: np.ndarray
    train_sims: list[np.ndarray] = field(default_factory=list)
    eval_sims: list[np.ndarray] = field(default_factory=list)
    eval_conditions: list[dict] = field(default_factory=list)
    reference_sim: np.ndarray | None = None


def musicnn_wheel(cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The musicnn 0.1.0 wheel (the original weights), fetched once from PyPI into ``cache_dir``."""
    wheel = cache_dir / "musicnn-0.1.0-py3-none-any.whl"
    if not wheel.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "musicnn==0.1.0",
                        "-d", str(cache_dir)], check=True)
    return wheel


def load_backbone(*, wheel: str | None = None, checkpoint: str | None = None) -> MusiCNN:
    """The frozen MSD_musicnn: taken from a saved model, or converted from the musicnn wheel
    (downloaded with pip when no wheel is given)."""
    if checkpoint:
        model, _ = load_checkpoint(resolve_model_dir(checkpoint))
        return model.backbone.eval()
    from train.convert_musicnn import load_musicnn_from_wheel
    return load_musicnn_from_wheel(wheel or musicnn_wheel())


def _seed_for(seed: int, sha: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(sha[:12], 16), stream])


@dataclass
class Extraction:
    items: list[ClipEmbeddings]
    skipped: list[dict]          # unreadable clips: [{path, error}]
    computed: int = 0            # embedding sets computed now ...
    cached: int = 0              # ... and read from the cache


def extract(clips: list[LabelledClip], backbone: MusiCNN, recipe: Recipe, cache_dir: Path,
            *, progress: bool = True) -> Extraction:
    """Embeddings of every readable clip: clean, training copies, held-out simulated copies and the
    reference condition. Unreadable clips are skipped with a warning."""
    mel = MelParams()
    params = {"backbone": backbone_hash(backbone), "mel": mel.to_dict(), "chunk": recipe.chunk_seconds,
              "hop": recipe.hop_seconds, "seed": recipe.seed, "micsim": 2}
    cache = EmbeddingCache(cache_dir / "embeddings", params)
    result = Extraction(items=[], skipped=[])
    for clip in tqdm(clips, desc="embeddings", unit="clip", disable=not progress):
        sha = file_sha256(clip.path)
        variants = (["clean"] + [f"sim{i}" for i in range(recipe.mic_copies)]
                    + [f"eval{j}" for j in range(EVAL_COPIES)] + ["reference"])
        cached = {v: cache.get(sha, v) for v in variants}
        result.cached += sum(c is not None for c in cached.values())
        if any(c is None for c in cached.values()):
            audio = load_or_skip(clip, mel.sample_rate, result.skipped)
            if audio is None:
                continue
            for v in variants:
                if cached[v] is not None:
                    continue
                conditions = {}
                if v == "clean":
                    samples = audio.samples
                else:
                    stream = (EVAL_STREAM + int(v[4:]) if v.startswith("eval") else
                              EVAL_STREAM - 1 if v == "reference" else int(v[3:]))
                    samples, cond = simulate_microphone(
                        audio.samples, mel.sample_rate, _seed_for(recipe.seed, sha, stream),
                        REFERENCE_CONDITIONS if v == "reference" else None)
                    conditions = cond.to_dict()
                emb, starts, ends = embed_chunks(backbone, samples, mel=mel, chunk_seconds=recipe.chunk_seconds,
                                                 hop_seconds=recipe.hop_seconds)
                cached[v] = {"emb": emb, "starts": starts, "ends": ends, "conditions": np.array(json.dumps(conditions))}
                cache.put(sha, v, **cached[v])
                result.computed += 1
        result.items.append(ClipEmbeddings(
            clip=clip, sha256=sha, clean=cached["clean"]["emb"], starts=cached["clean"]["starts"],
            ends=cached["clean"]["ends"], train_sims=[cached[f"sim{i}"]["emb"] for i in range(recipe.mic_copies)],
            eval_sims=[cached[f"eval{j}"]["emb"] for j in range(EVAL_COPIES)],
            eval_conditions=[json.loads(str(cached[f"eval{j}"]["conditions"])) for j in range(EVAL_COPIES)],
            reference_sim=cached["reference"]["emb"]))
    return result


def _training_arrays(items: list[ClipEmbeddings], genres: list[str]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for item in items:
        for emb in [item.clean] + item.train_sims:
            xs.append(emb)
            ys.append(np.full(len(emb), genres.index(item.clip.label)))
    return np.concatenate(xs), np.concatenate(ys)


def cross_validate(items: list[ClipEmbeddings], genres: list[str], recipe: Recipe) -> list[dict]:
    """Out-of-fold predictions, one record per clip (clean and simulated-microphone)."""
    folds = stratified_folds([it.clip.label for it in items], recipe.folds, recipe.seed)
    records: list[dict] = [{} for _ in items]
    for fold in range(recipe.folds):
        train = [it for it, f in zip(items, folds) if f != fold]
        x, y = _training_arrays(train, genres)
        head = fit_head(x, y, len(genres), l2=recipe.l2, seed=recipe.seed)
        for i in np.flatnonzero(folds == fold):
            it = items[i]
            clean = head_probabilities(head, it.clean)
            records[i] = clip_record(it.clip.relpath, it.clip.label, genres, clean, it.starts, it.ends, fold=int(fold),
                                     reference_probs=head_probabilities(head, it.reference_sim))
            records[i]["simulated_mic"] = [
                {"predicted": genres[int(p.argmax())], "probabilities": [round(float(v), 5) for v in p],
                 "conditions": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in cond.items()}}
                for p, cond in ((head_probabilities(head, e).mean(0), c) for e, c in zip(it.eval_sims, it.eval_conditions))]
    return records


def main(argv: list[str] | None = None, command: str | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder of <genre>/<audio files>")
    parser.add_argument("--out", required=True, help="model directory to write, e.g. weights/default")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--musicnn-wheel", help="musicnn-0.1.0-py3-none-any.whl (default: pip download --no-deps "
                                                 f"musicnn==0.1.0 into {DEFAULT_CACHE})")
    source.add_argument("--backbone-from", help="reuse the backbone of a model (a name in weights/ or a directory)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"embedding cache (default {DEFAULT_CACHE})")
    parser.add_argument("--seed", type=int, default=Recipe.seed)
    parser.add_argument("--folds", type=int, default=Recipe.folds)
    parser.add_argument("--mic-copies", type=int, default=Recipe.mic_copies, help="simulated recordings per training clip")
    parser.add_argument("--l2", type=float, default=Recipe.l2)
    args = parser.parse_args(argv)
    recipe = Recipe(seed=args.seed, folds=args.folds, mic_copies=args.mic_copies, l2=args.l2)
    torch.manual_seed(recipe.seed)
    started = time.time()

    clips = find_clips(args.data)
    genres = sorted({c.label for c in clips})
    backbone = load_backbone(wheel=args.musicnn_wheel, checkpoint=args.backbone_from)
    extraction = extract(clips, backbone, recipe, args.cache)
    items = extraction.items
    t_extract = time.time() - started
    records = cross_validate(items, genres, recipe)
    metrics = summarize(records, genres)

    x, y = _training_arrays(items, genres)
    head = fit_head(x, y, len(genres), l2=recipe.l2, seed=recipe.seed)
    model = MusicnnGenre(n_genres=len(genres), bank_size=len(head.bank))
    model.backbone.load_state_dict(backbone.state_dict())
    model.head.load_state_dict(head.state_dict())
    hashes = {it.clip.relpath: it.sha256 for it in items}
    command = command or "python -m train.musicnn_head " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    from train.convert_musicnn import MUSICNN_NOTICE
    info = ModelInfo(
        arch="musicnn-head", arch_params={"n_genres": len(genres), "bank_size": len(head.bank)}, labels=genres, features=MelParams().to_dict(),
        chunk_seconds=recipe.chunk_seconds, hop_seconds=recipe.hop_seconds,
        metrics={"split": f"{recipe.folds}-fold stratified clip-level CV, out-of-fold",
                 "accuracy_clean": metrics["clean"]["accuracy"], "accuracy_clean_ci95": metrics["clean"]["accuracy_ci95"],
                 "macro_f1_clean": metrics["clean"]["macro_f1"],
                 "accuracy_simulated_mic": metrics["simulated_mic"]["accuracy"],
                 "accuracy_reference_mic": metrics["reference_mic"]["accuracy"],
                 "macro_f1_simulated_mic": metrics["simulated_mic"]["macro_f1"], "n_clips": len(items)},
        training_data={"fingerprint": fingerprint([it.clip for it in items], hashes), "n_clips": len(items),
                       "n_chunks_clean": int(sum(len(it.clean) for it in items)), "mic_copies": recipe.mic_copies,
                       "root": Path(args.data).name},
        description="Frozen MSD_musicnn (PyTorch port) + logistic-regression head, trained with simulated microphone copies.",
        licences=[MUSICNN_NOTICE], code_version=__version__,
    )
    out = Path(args.out)
    save_checkpoint(model, info, out)
    report = {
        "model": out.name, "arch": "musicnn-head", "labels": genres,
        "split": info.metrics["split"], "seed": recipe.seed, "recipe": recipe.__dict__,
        "data_root": str(args.data), "fingerprint": info.training_data["fingerprint"],
        "metrics": metrics, "clips": records, "skipped": extraction.skipped,
        "command": command, "code_version": __version__, "python": platform.python_version(),
        "torch": torch.__version__,
        "timings_s": {"extract": round(t_extract, 1), "total": round(time.time() - started, 1)},
        "embedding_sets": {"computed": extraction.computed, "cached": extraction.cached},
    }
    report["cpu_seconds_per_30s_clip"] = cpu_seconds_per_30s_clip(out)
    (out / "eval_report.json").write_text(json.dumps(report, indent=1))
    write_model_card(
        out, report, title=f"Model card: {out.name} (musicnn-head)",
        summary=("A genre classifier for the 10 GTZAN genres: the MSD_musicnn network (Pons & Serra, MTG-UPF), "
                 "ported to PyTorch with weights converted from the musicnn 0.1.0 wheel and kept frozen, and a "
                 "logistic-regression head trained on its 200-unit embedding of 3 s chunks."),
        licence="The backbone weights are converted from musicnn, distributed under the ISC licence:\n\n> " + MUSICNN_NOTICE)
    print(json.dumps({k: metrics[k]["accuracy"] for k in ("clean", "simulated_mic")}))
    print(f"clean: acc {metrics['clean']['accuracy']:.3f} {metrics['clean']['accuracy_ci95']}, "
          f"macro-F1 {metrics['clean']['macro_f1']:.3f}; simulated mic: acc {metrics['simulated_mic']['accuracy']:.3f}")
    print(f"wrote {out}/model.safetensors and eval_report.json in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
