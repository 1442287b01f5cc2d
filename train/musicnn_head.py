"""The default model's recipe: the frozen MSD_musicnn network (weights from the musicnn 0.1.0 wheel)
and a head trained on its embedding of 3 s chunks, from clean audio and simulated room recordings.

    python -m train --arch musicnn-head --out weights/default \\
        --data ../shared/data/gtzan_excerpts ../shared/data/gtzan_snippets ../shared/data/gtzan_full \\
        --artists ../shared/data/gtzan_artists.txt --split-files ../shared/data/gtzan_splits \\
        --speech ../shared/data/speech

Every clip (GTZAN id) weighs the same whatever its length, and every genre the same. Each
training clip is used clean, as ``--mic-copies`` fair room recordings and as ``--room-copies``
noisy-classroom recordings (babble, crowd, clatter at 0-15 dB SNR). Evaluation: artist-grouped
k-fold (the headline), the artist-filtered split (train part -> valid part) and, for comparison
only, the optimistic same-artist k-fold. Held-out clips are also scored through noisy-classroom
recordings made with voices the training never used. The head's temperature and the "cannot
judge" rules are fitted on held-out artists (train/evaluation.py).
"""

from __future__ import annotations

import copy
import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from genre_model import __version__
from genre_model.checkpoint import ModelInfo, load_checkpoint, resolve_model_dir, save_checkpoint
from genre_model.datasets import LabelledClip
from genre_model.features import MelParams
from genre_model.heads import SNR_CLEAN_DB, clip_weights, fit_head, fit_quality, quality_rows
from genre_model.models.head import GenreHead
from genre_model.models.musicnn import MusiCNN, MusicnnGenre
from genre_model.roomsim import SpeechPool
from genre_model.teach import BASE_FILE, BaseData
from train.data import file_sha256, fingerprint, load_or_skip
from train.embeddings import EmbeddingCache, backbone_hash, layer_from_pooled, pooled_chunks
from train.evaluation import Held, background_flags, evaluate_held, for_report
from train.pool import Pool, assert_disjoint, main_plan, optimistic_plan, split_plan, subset
from train.variants import EVAL_CONDITIONS, make_variant, non_music_features, training_variants, variant_rng

DEFAULT_CACHE = Path.home() / ".cache" / "genre_model"
_CACHE_VERSION = 3  # bump when the variants' audio changes in a way the parameters do not show


@dataclass
class Recipe:
    seed: int = 0
    folds: int = 5
    layer: str = "penultimate"
    l2: float = 1e-2
    mic_copies: int = 1
    room_copies: int = 3
    background_clips: int = 60        # music-free room recordings that teach the quality layer
    finetune_epochs: int = 0          # > 0: also train musicnn's dense back end (layer penultimate/tags)
    normalize_db: float | None = None  # bring every chunk to this level before the spectrogram
    chunk_seconds: float = 3.0
    hop_seconds: float = 1.5


@dataclass
class FileEmbeddings:
    clip: LabelledClip
    sha256: str
    duration: float
    starts: np.ndarray
    ends: np.ndarray
    pooled: dict[str, np.ndarray] = field(default_factory=dict)   # variant -> [n_chunks, 1506]
    conditions: dict[str, dict] = field(default_factory=dict)     # variant -> conditions drawn


@dataclass
class Extraction:
    files: list[FileEmbeddings]
    kept: list[int]                  # pool indices of the files that could be decoded
    skipped: list[dict]
    background: dict[str, list[np.ndarray]]
    computed: int = 0
    cached: int = 0


def musicnn_wheel(cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The musicnn 0.1.0 wheel (the original weights), fetched once from PyPI into ``cache_dir``."""
    wheel = cache_dir / "musicnn-0.1.0-py3-none-any.whl"
    if not wheel.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "musicnn==0.1.0",
                        "-d", str(cache_dir)], check=True)
    return wheel


def load_backbone(*, wheel: str | None = None, checkpoint: str | None = None, model: str = "MSD_musicnn") -> MusiCNN:
    """The frozen musicnn: taken from a saved model, or converted from the musicnn wheel
    (downloaded with pip when no wheel is given)."""
    if checkpoint:
        net, _ = load_checkpoint(resolve_model_dir(checkpoint))
        return net.backbone.eval()
    from train.convert_musicnn import load_musicnn_from_wheel
    return load_musicnn_from_wheel(wheel or musicnn_wheel(), model)


def _pool_signature(pools: dict[str, SpeechPool]) -> str:
    import hashlib
    h = hashlib.sha256()
    for name in sorted(pools):
        for v in pools[name].voices:
            h.update(name.encode())
            h.update(np.ascontiguousarray(v[::97]).tobytes())
    return h.hexdigest()[:16]


def extract(pool: Pool, backbone: MusiCNN, recipe: Recipe, cache_dir: Path, pools: dict[str, SpeechPool], *,
            progress: bool = True) -> Extraction:
    """Pooled musicnn features of every clip in every variant (training copies and held-out
    conditions), and of the music-free background recordings; from the cache when the content and
    every parameter match. Unreadable clips are skipped with a warning."""
    mel = MelParams(normalize_db=recipe.normalize_db)
    params = {"backbone": backbone_hash(backbone), "mel": mel.to_dict(), "chunk": recipe.chunk_seconds,
              "hop": recipe.hop_seconds, "seed": recipe.seed, "voices": _pool_signature(pools),
              "version": _CACHE_VERSION}
    cache = EmbeddingCache(cache_dir / "embeddings", params)
    variants = training_variants(recipe.mic_copies, recipe.room_copies) + [c for c in EVAL_CONDITIONS if c != "clean"]
    out = Extraction(files=[], kept=[], skipped=[], background={})
    for index, clip in enumerate(tqdm(pool.clips, desc="embeddings", unit="clip", disable=not progress)):
        sha = file_sha256(clip.path)
        got = {v: cache.get(sha, v) for v in variants}
        out.cached += sum(g is not None for g in got.values())
        if any(g is None for g in got.values()):
            audio = load_or_skip(clip, mel.sample_rate, out.skipped)
            if audio is None:
                continue
            for v in variants:
                if got[v] is None:
                    samples, cond = make_variant(v, audio.samples, mel.sample_rate, variant_rng(recipe.seed, sha, v), pools)
                    pooled, starts, ends = pooled_chunks(backbone, samples, mel=mel, chunk_seconds=recipe.chunk_seconds,
                                                         hop_seconds=recipe.hop_seconds)
                    cache.put(sha, v, pooled=pooled, starts=starts, ends=ends, duration=np.array(audio.duration),
                              conditions=np.array(json.dumps(cond)))
                    got[v] = cache.get(sha, v)
                    out.computed += 1
        clean = got["clean"]
        out.kept.append(index)
        out.files.append(FileEmbeddings(
            clip=clip, sha256=sha, duration=float(clean["duration"]), starts=clean["starts"], ends=clean["ends"],
            pooled={v: got[v]["pooled"] for v in variants},
            conditions={v: json.loads(str(got[v]["conditions"])) for v in variants}))
    out.background = non_music_features(cache, recipe.background_clips, recipe.seed, mel.sample_rate, pools, lambda y: (
        pooled_chunks(backbone, y, mel=mel, chunk_seconds=recipe.chunk_seconds, hop_seconds=recipe.hop_seconds)[0]))
    return out


def finetune_back_end(backbone: MusiCNN, x: np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int, *,
                      epochs: int, seed: int, lr: float = 1e-3) -> MusiCNN:
    """A copy of ``backbone`` whose dense back end (pooled -> 200 units) is trained together with a
    temporary linear genre layer on pooled features ``x``, labels ``y`` and row weights ``w``."""
    torch.manual_seed(seed)
    net = copy.deepcopy(backbone)
    net.dense.train()
    net.dense_bn.train()
    probe = torch.nn.Linear(net.embedding_size, n_classes)
    params = list(net.dense.parameters()) + list(net.dense_bn.parameters()) + list(probe.parameters())
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=1e-4)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    wt = torch.as_tensor(w / w.mean(), dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=generator)
        for first in range(0, len(order), 256):
            rows = order[first:first + 256]
            emb = net.back_end(F.dropout(xt[rows], 0.3))
            loss = (F.cross_entropy(probe(F.dropout(emb, 0.3)), yt[rows], reduction="none") * wt[rows]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


@dataclass
class Fitted:
    backbone: MusiCNN       # the frozen backbone, or a copy with a fine-tuned back end
    head: GenreHead


def _rows(files: list[FileEmbeddings], indices, variants: list[str]):
    for i in indices:
        f = files[i]
        for v in variants:
            yield f, v, f.pooled[v]


def fit(files: list[FileEmbeddings], indices: list[int], genres: list[str], recipe: Recipe, backbone: MusiCNN,
        background: dict[str, list[np.ndarray]]) -> Fitted:
    """The genre head (and quality layer) trained on ``files[indices]`` in every training variant."""
    variants = training_variants(recipe.mic_copies, recipe.room_copies)
    rows = list(_rows(files, indices, variants))
    pooled = np.concatenate([p for _, _, p in rows])
    y = np.concatenate([np.full(len(p), genres.index(f.clip.label)) for f, _, p in rows])
    ids = [f.clip.clip_id for f, _, p in rows for _ in range(len(p))]
    w = clip_weights([f.clip.label for f, _, p in rows for _ in range(len(p))], ids)
    if recipe.finetune_epochs:
        backbone = finetune_back_end(backbone, pooled, y, w, len(genres), epochs=recipe.finetune_epochs, seed=recipe.seed)
    x = layer_from_pooled(backbone, pooled, recipe.layer)
    head = fit_head(x, y, len(genres), weights=w, groups=np.array(ids), l2=recipe.l2, seed=recipe.seed)
    snr = np.concatenate([np.full(len(p), f.conditions[v].get("snr_db", SNR_CLEAN_DB)) for f, v, p in rows])
    room, other = (layer_from_pooled(backbone, np.concatenate(background[k]), recipe.layer) for k in ("train", "other-train"))
    qx, kind, qsnr, qw = quality_rows(x, snr, w, room, other)
    fit_quality(head, qx, kind, qsnr, weights=qw)
    return Fitted(backbone, head)


@torch.inference_mode()
def outputs(fitted: Fitted, pooled: np.ndarray, layer: str) -> dict[str, np.ndarray]:
    """Chunk outputs ``{logits, novelty, no_music, snr_db}`` of pooled features."""
    emb = torch.as_tensor(layer_from_pooled(fitted.backbone, pooled, layer))
    return {k: v.numpy() for k, v in fitted.head.judge(emb).items()}


def held_out(plan, files: list[FileEmbeddings], genres: list[str], recipe: Recipe, backbone: MusiCNN,
             background: dict[str, list[np.ndarray]], *, progress: bool = True) -> list[Held]:
    """Out-of-sample outputs of every test-side file of every stage of ``plan``, in every condition."""
    held = []
    for number, stage in enumerate(tqdm(plan.stages, desc="folds", unit="fold", disable=not progress)):
        train = getattr(stage, "train_all", stage.train + stage.val)  # a convex head needs no early stopping
        fitted = fit(files, train, genres, recipe, backbone, background)
        fold = number if plan.refit_all else stage.name
        for i in stage.test:
            f = files[i]
            held.append(Held(index=i, fold=fold,
                             outputs={c: outputs(fitted, f.pooled[c], recipe.layer) for c in EVAL_CONDITIONS},
                             conditions={c: f.conditions.get(c, {}) for c in EVAL_CONDITIONS}))
    return held


def evaluate(plan, pool: Pool, files: list[FileEmbeddings], genres: list[str], recipe: Recipe, backbone: MusiCNN,
             extraction: Extraction, *, progress: bool = True, rules=None, artists_apart: bool = True) -> dict:
    """One evaluation of the recipe under ``plan`` (see train.evaluation.evaluate_held)."""
    assert_disjoint(pool, plan, artists=artists_apart)
    held = held_out(plan, files, genres, recipe, backbone, extraction.background, progress=progress)
    info = [{"starts": f.starts, "ends": f.ends, "duration": f.duration} for f in files]
    return evaluate_held(plan.description, held, pool, info, genres, rules)


def teach_base(files: list[FileEmbeddings], pool: Pool, recipe: Recipe, backbone: MusiCNN) -> BaseData:
    """The rows the final head trained on (every chunk of every file, clean and in its simulated
    rooms), shipped beside the model for the Teach page (genre_model.teach) and the tests."""
    variants = training_variants(recipe.mic_copies, recipe.room_copies)
    x, rows = [], []
    for f, group in zip(files, pool.groups):
        for v in variants:
            e = layer_from_pooled(backbone, f.pooled[v], recipe.layer)
            x.append(e)
            rows += [(f.clip.label, f.clip.clip_id, f.clip.relpath, v, group)] * len(e)
    columns = [np.array(c) for c in zip(*rows)]
    return BaseData(np.concatenate(x), *columns)


def run(*, data: list[str], out: str, artists: str | None, split_files: str | None, speech: str | None,
        recipe: Recipe, cache: Path, wheel: str | None, backbone_from: str | None, command: str,
        optimistic: bool = True, progress: bool = True) -> dict:
    """Train the default model's recipe and write ``out`` (see the module docstring)."""
    from genre_model.datasets import common_root, find_clips_in
    from train.pool import build_pool
    from train.speech import speech_pools
    started = time.time()
    torch.manual_seed(recipe.seed)
    pool = build_pool(find_clips_in(data), split_dir=split_files, artists_file=artists)
    genres = sorted({c.label for c in pool.clips})
    backbone = load_backbone(wheel=wheel, checkpoint=backbone_from)
    pools = speech_pools(Path(speech) if speech else None, cache, MelParams().sample_rate)
    extraction = extract(pool, backbone, recipe, cache, pools, progress=progress)
    pool = subset(pool, extraction.kept)
    files = extraction.files
    t_extract = time.time() - started

    main = evaluate(main_plan(pool, recipe.folds, recipe.seed), pool, files, genres, recipe, backbone, extraction,
                    progress=progress)
    rules = main["rules"]
    evaluations = {"artist_kfold": main}
    split = split_plan(pool, recipe.seed)
    if split is not None:
        evaluations["split"] = evaluate(split, pool, files, genres, recipe, backbone, extraction, progress=progress,
                                        rules=rules)
    if optimistic:
        evaluations["same_artist_kfold"] = evaluate(optimistic_plan(pool, recipe.folds, recipe.seed), pool, files,
                                                    genres, recipe, backbone, extraction, progress=progress, rules=rules,
                                                    artists_apart=False)

    final = fit(files, list(range(len(files))), genres, recipe, backbone, extraction.background)
    final.head.temperature.fill_(main["calibration"]["temperature"])
    model = MusicnnGenre(n_genres=len(genres), bank_size=len(final.head.bank), layer=recipe.layer)
    model.backbone.load_state_dict(final.backbone.state_dict())
    model.head.load_state_dict(final.head.state_dict())
    hashes = {f.clip.relpath: f.sha256 for f in files}
    from train.convert_musicnn import MUSICNN_NOTICE
    m = main["metrics"]
    info = ModelInfo(
        arch="musicnn-head", arch_params={"n_genres": len(genres), "bank_size": len(final.head.bank),
                                          "layer": recipe.layer},
        labels=genres, features=MelParams(normalize_db=recipe.normalize_db).to_dict(), chunk_seconds=recipe.chunk_seconds,
        hop_seconds=recipe.hop_seconds,
        metrics={"split": main["description"], "accuracy_clean": m["clean"]["accuracy"],
                 "accuracy_clean_ci95": m["clean"]["accuracy_ci95"], "macro_f1_clean": m["clean"]["macro_f1"],
                 "accuracy_noisy_room": m.get("noisy_room", {}).get("accuracy"),
                 "accuracy_reference_mic": m.get("reference_mic", {}).get("accuracy"), "n_clips": m["clean"]["n"]},
        training_data={"fingerprint": fingerprint([f.clip for f in files], hashes), "n_files": len(files),
                       "n_clips": len({f.clip.clip_id for f in files}),
                       "roots": [Path(d).name for d in data], "mic_copies": recipe.mic_copies,
                       "room_copies": recipe.room_copies, "l2": recipe.l2, "excluded": pool.notes.get("excluded", {})},
        judgement=rules.to_dict(),
        description=f"Frozen MSD_musicnn (PyTorch port), head on its {recipe.layer} layer, trained with simulated "
                    "room recordings; calibrated, with a recording-quality layer.",
        licences=[MUSICNN_NOTICE], code_version=__version__,
    )
    out_dir = Path(out)
    save_checkpoint(model, info, out_dir)
    teach_base(files, pool, recipe, final.backbone).save(out_dir / BASE_FILE)
    background = {name: background_flags([outputs(final, p, recipe.layer) for p in extraction.background[key]], rules)
                  for name, key in (("room_without_music", "eval"), ("not_music", "other-eval"))}
    report = {
        "model": out_dir.name, "arch": "musicnn-head", "labels": genres, "split": main["description"],
        "seed": recipe.seed, "recipe": asdict(recipe), "data_root": str(common_root(data)),
        "data": [str(d) for d in data], "artists": artists, "split_files": split_files, "speech": speech,
        "fingerprint": info.training_data["fingerprint"], "pool": {
            "files": len(files), "clips": info.training_data["n_clips"], "groups": len(set(pool.groups)),
            "by_source": {s: sum(f.clip.source == s for f in files) for s in sorted({f.clip.source for f in files})},
            **pool.notes},
        "metrics": m, "clips": main["records"],
        "evaluations": {k: for_report(v) for k, v in evaluations.items()},
        "judgement": {"rules": rules.to_dict(), "background_eval": background,
                      "calibration": main["calibration"]},
        "skipped": extraction.skipped, "command": command, "code_version": __version__,
        "python": platform.python_version(), "torch": torch.__version__,
        "timings_s": {"extract": round(t_extract, 1), "total": round(time.time() - started, 1)},
        "embedding_sets": {"computed": extraction.computed, "cached": extraction.cached},
        "licence": "The backbone weights are converted from musicnn, distributed under the ISC licence:\n\n> "
                   + MUSICNN_NOTICE,
    }
    from train.report import cpu_seconds_per_30s_clip
    report["cpu_seconds_per_30s_clip"] = cpu_seconds_per_30s_clip(out_dir)
    (out_dir / "eval_report.json").write_text(json.dumps(report, indent=1))
    from train.model_card import write_model_card
    write_model_card(out_dir, report)
    return report
