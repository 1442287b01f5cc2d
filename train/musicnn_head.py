"""The default model's recipe: frozen MSD_musicnn embeddings + a logistic-regression genre head,
trained on clean audio and on simulated microphone recordings of it.

    pip download --no-deps musicnn==0.1.0 -d ~/.cache/genre_model
    python -m train.musicnn_head --data ../shared/data/gtzan_excerpts \\
        --musicnn-wheel ~/.cache/genre_model/musicnn-0.1.0-py3-none-any.whl --out weights/default

Evaluation: stratified k-fold cross-validation at clip level (all chunks of a clip, and all its
simulated copies, stay on one side). Each held-out clip is scored clean and as one simulated
recording drawn from a random stream the training copies never use. Then the head is refitted on
every clip and saved with the out-of-fold report and a model card.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from genre_model import __version__
from genre_model.audio import load_audio
from genre_model.checkpoint import ModelInfo, load_checkpoint, save_checkpoint
from genre_model.errors import AudioError
from genre_model.features import MelParams
from genre_model.models.musicnn import MusiCNN, MusicnnGenre
from train.data import LabelledClip, file_sha256, find_clips, fingerprint
from train.embeddings import EmbeddingCache, backbone_hash, embed_chunks
from train.head import fit_head, head_probabilities
from train.metrics import classification_report
from train.micsim import simulate_microphone

DEFAULT_CACHE = Path.home() / ".cache" / "genre_model"
EVAL_STREAM = 1_000_003  # seeds the held-out simulated copies; training copies use 0..copies-1


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
    eval_sim: np.ndarray | None = None


def load_backbone(*, wheel: str | None = None, checkpoint: str | None = None) -> MusiCNN:
    """The frozen MSD_musicnn: converted from the musicnn wheel, or taken from a saved checkpoint."""
    if wheel:
        from train.convert_musicnn import load_musicnn_from_wheel
        return load_musicnn_from_wheel(wheel)
    if checkpoint:
        model, _ = load_checkpoint(checkpoint)
        return model.backbone.eval()
    raise ValueError("give --musicnn-wheel (see the module docstring) or --backbone-from a model directory")


def _seed_for(seed: int, sha: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(sha[:12], 16), stream])


def extract(clips: list[LabelledClip], backbone: MusiCNN, recipe: Recipe, cache_dir: Path,
            *, progress: bool = True) -> tuple[list[ClipEmbeddings], list[dict]]:
    """Embeddings of every readable clip (clean, training copies, held-out copy); unreadable clips
    are skipped and returned as ``[{path, error}]``."""
    mel = MelParams()
    params = {"backbone": backbone_hash(backbone), "mel": mel.to_dict(), "chunk": recipe.chunk_seconds,
              "hop": recipe.hop_seconds, "seed": recipe.seed, "micsim": 1}
    cache = EmbeddingCache(cache_dir / "embeddings", params)
    out, skipped = [], []
    for clip in tqdm(clips, desc="embeddings", unit="clip", disable=not progress):
        sha = file_sha256(clip.path)
        variants = ["clean", "eval_sim"] + [f"sim{i}" for i in range(recipe.mic_copies)]
        cached = {v: cache.get(sha, v) for v in variants}
        if any(c is None for c in cached.values()):
            try:
                audio = load_audio(clip.path, sample_rate=mel.sample_rate)
            except AudioError as exc:
                print(f"warning: skipping {clip.relpath}: {exc.message}", file=sys.stderr)
                skipped.append({"path": clip.relpath, "error": exc.message})
                continue
            for v in variants:
                if cached[v] is not None:
                    continue
                if v == "clean":
                    samples = audio.samples
                else:
                    stream = EVAL_STREAM if v == "eval_sim" else int(v[3:])
                    samples = simulate_microphone(audio.samples, mel.sample_rate, _seed_for(recipe.seed, sha, stream))
                emb, starts, ends = embed_chunks(backbone, samples, mel=mel, chunk_seconds=recipe.chunk_seconds,
                                                 hop_seconds=recipe.hop_seconds)
                cache.put(sha, v, emb=emb, starts=starts, ends=ends)
                cached[v] = {"emb": emb, "starts": starts, "ends": ends}
        out.append(ClipEmbeddings(
            clip=clip, sha256=sha, clean=cached["clean"]["emb"], starts=cached["clean"]["starts"],
            ends=cached["clean"]["ends"], train_sims=[cached[f"sim{i}"]["emb"] for i in range(recipe.mic_copies)],
            eval_sim=cached["eval_sim"]["emb"]))
    return out, skipped


def stratified_folds(labels: list[str], k: int, seed: int) -> np.ndarray:
    """Fold index per clip: each label's clips shuffled, then dealt round-robin to the k folds."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in sorted(set(labels)):
        members = np.flatnonzero(np.array(labels) == label)
        rng.shuffle(members)
        folds[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)  # rotate so small classes do not all start at fold 0
    return folds


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
            sim = head_probabilities(head, it.eval_sim)
            records[i] = {
                "path": it.clip.relpath, "label": it.clip.label, "fold": int(fold),
                "predicted": genres[int(clean.mean(0).argmax())],
                "confidence": round(float(clean.mean(0).max()), 4),
                "probabilities": [round(float(p), 5) for p in clean.mean(0)],
                "chunks": [{"start": round(float(s), 3), "end": round(float(e), 3),
                            "probabilities": [round(float(p), 5) for p in row]}
                           for s, e, row in zip(it.starts, it.ends, clean)],
                "simulated_mic": {"predicted": genres[int(sim.mean(0).argmax())],
                                  "probabilities": [round(float(p), 5) for p in sim.mean(0)]},
            }
    return records


def summarize(records: list[dict], genres: list[str]) -> dict:
    y = [genres.index(r["label"]) for r in records]
    clean = classification_report(y, [genres.index(r["predicted"]) for r in records], genres)
    sim = classification_report(y, [genres.index(r["simulated_mic"]["predicted"]) for r in records], genres)
    chunk_true = [genres.index(r["label"]) for r in records for _ in r["chunks"]]
    chunk_pred = [int(np.argmax(c["probabilities"])) for r in records for c in r["chunks"]]
    chunk = classification_report(chunk_true, chunk_pred, genres)
    return {"clean": clean, "simulated_mic": sim,
            "chunks_clean": {k: chunk[k] for k in ("n", "accuracy", "accuracy_ci95", "macro_f1")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder of <genre>/<audio files>")
    parser.add_argument("--out", required=True, help="model directory to write, e.g. weights/default")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--musicnn-wheel", help="musicnn-0.1.0-py3-none-any.whl (pip download --no-deps musicnn==0.1.0)")
    source.add_argument("--backbone-from", help="reuse the backbone of an existing model directory")
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
    items, skipped = extract(clips, backbone, recipe, args.cache)
    t_extract = time.time() - started
    records = cross_validate(items, genres, recipe)
    metrics = summarize(records, genres)

    x, y = _training_arrays(items, genres)
    head = fit_head(x, y, len(genres), l2=recipe.l2, seed=recipe.seed)
    model = MusicnnGenre(n_genres=len(genres), bank_size=len(head.bank))
    model.backbone.load_state_dict(backbone.state_dict())
    model.head.load_state_dict(head.state_dict())
    hashes = {it.clip.relpath: it.sha256 for it in items}
    command = "python -m train.musicnn_head " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    from train.convert_musicnn import MUSICNN_NOTICE
    info = ModelInfo(
        arch="musicnn-head", arch_params={"n_genres": len(genres), "bank_size": len(head.bank)}, labels=genres, features=MelParams().to_dict(),
        chunk_seconds=recipe.chunk_seconds, hop_seconds=recipe.hop_seconds,
        metrics={"split": f"{recipe.folds}-fold stratified clip-level CV, out-of-fold",
                 "accuracy_clean": metrics["clean"]["accuracy"], "accuracy_clean_ci95": metrics["clean"]["accuracy_ci95"],
                 "macro_f1_clean": metrics["clean"]["macro_f1"],
                 "accuracy_simulated_mic": metrics["simulated_mic"]["accuracy"],
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
        "metrics": metrics, "clips": records, "skipped": skipped,
        "command": command, "code_version": __version__, "python": platform.python_version(),
        "torch": torch.__version__,
        "timings_s": {"extract": round(t_extract, 1), "total": round(time.time() - started, 1)},
    }
    (out / "eval_report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: metrics[k]["accuracy"] for k in ("clean", "simulated_mic")}))
    print(f"clean: acc {metrics['clean']['accuracy']:.3f} {metrics['clean']['accuracy_ci95']}, "
          f"macro-F1 {metrics['clean']['macro_f1']:.3f}; simulated mic: acc {metrics['simulated_mic']['accuracy']:.3f}")
    print(f"wrote {out}/model.safetensors and eval_report.json in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
