"""Train one of the from-scratch architectures (cnn, crnn-gru, crnn-lstm, mfcc5-cnn,
tabular-mlp): features (cached) -> honest evaluation -> training with early stopping -> report,
checkpoint and model card. ``python -m train`` is the command; this module does the work.

The evaluation protocol is the default model's (train/pool.py, train/evaluation.py): artist-grouped
k-fold as the headline, the artist-filtered split beside it, every held-out clip also scored in
simulated rooms; the temperature, the quality layer and the "cannot judge" rules are fitted the same
way, so the Compare page compares like with like.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import torch
from tqdm import tqdm

from genre_model import __version__
from genre_model.checkpoint import ModelInfo, save_checkpoint
from genre_model.chunking import chunk_spans, cut_chunks
from genre_model.datasets import LabelledClip, find_clips
from genre_model.errors import AudioError
from genre_model.features import MelParams, model_input
from genre_model.heads import SNR_CLEAN_DB, clip_weights, fill_novelty_bank, fit_quality, quality_rows
from genre_model.metrics import classification_report
from genre_model.mfcc5 import Mfcc5Params
from genre_model.models import build
from genre_model.models.trained import TabularMLP
from genre_model.tabular import SAMPLE_RATE as TABLE_RATE
from train.augment import AUDIO_KINDS, augment_audio, parse_kinds, spec_augment
from train.data import file_sha256, fingerprint, load_or_skip, state_sha256
from train.embeddings import EmbeddingCache
from train.evaluation import Held, background_flags, evaluate_held, for_report
from train.pool import Pool, assert_disjoint, build_pool, main_plan, split_plan, subset
from train.sources import Source, clip_key, open_source
from train.splits import Plan, holdout_plan
from train.trainer import STATE_FILE, TrainConfig, fit, load_state
from train.variants import EVAL_CONDITIONS, make_variant, non_music_features, variant_rng

TRAINED_ARCHS = ("cnn", "crnn-gru", "crnn-lstm", "mfcc5-cnn", "tabular-mlp")
DEFAULT_CACHE = Path.home() / ".cache" / "genre_model" / "features"
BANK_SIZE = 2048
_CACHE_VERSION = 2  # bump when feature extraction changes in a way its parameters do not show


def feature_spec(arch: str) -> dict:
    """The ``features`` metadata of an architecture: its input kind and parameters."""
    if arch == "mfcc5-cnn":
        return {"kind": "mfcc5", **Mfcc5Params().to_dict()}
    if arch == "tabular-mlp":
        return {"kind": "tabular", "sample_rate": TABLE_RATE}
    return {"kind": "log-mel", **MelParams().to_dict()}


@dataclass
class RunConfig:
    data: list[str] | str
    arch: str
    out: str
    seed: int = 0
    device: str = "auto"
    split: str = "kfold"          # kfold | holdout
    folds: int = 5
    val_fraction: float = 0.2
    split_files: str | None = None
    artists: str | None = None
    speech: str | None = None
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6
    augment: str = "specaugment,micsim,room"
    aug_copies: int = 2
    background_clips: int = 60
    chunk_seconds: float | None = None   # default: 3 s chunks, 30 s for tabular-mlp
    hop_seconds: float | None = None     # default: 1.5 s, 30 s for tabular-mlp
    cache: str = str(DEFAULT_CACHE)
    resume: bool = False
    eval_data: str | None = None
    progress: bool = True

    def __post_init__(self):
        self.data = [self.data] if isinstance(self.data, (str, Path)) else list(self.data)
        tabular = self.arch == "tabular-mlp"
        self.chunk_seconds = self.chunk_seconds or (30.0 if tabular else 3.0)
        self.hop_seconds = self.hop_seconds or (30.0 if tabular else 1.5)


@dataclass
class ClipFeatures:
    clip: LabelledClip
    sha256: str
    clean: np.ndarray                      # [n_chunks, ...] model input of each chunk
    starts: np.ndarray
    ends: np.ndarray
    duration: float = 0.0
    copies: list[np.ndarray] = field(default_factory=list)     # augmented copies (training only)
    copy_snr: list[float] = field(default_factory=list)        # the music's SNR in each copy
    conditions: dict[str, np.ndarray] = field(default_factory=dict)   # held-out conditions' features
    drawn: dict[str, dict] = field(default_factory=dict)


@dataclass
class Features:
    items: list[ClipFeatures]
    kept: list[int]
    skipped: list[dict]
    background: dict[str, list[np.ndarray]] = field(default_factory=dict)
    computed: int = 0
    cached: int = 0


# ---------------------------------------------------------------- distributed helpers

T = TypeVar("T")


def _rank() -> int:
    return torch.distributed.get_rank() if torch.distributed.is_initialized() else 0


def _barrier() -> None:
    if torch.distributed.is_initialized():
        torch.distributed.barrier()


def _rank0_first(make: Callable[[], T]) -> T:
    """``make()`` on rank 0, then on the other ranks once it is done: what rank 0 writes to disk
    (caches, generated voices) the others read instead of racing to write it too."""
    result = make() if _rank() == 0 else None
    _barrier()
    return make() if _rank() > 0 else result


def _init_distributed(device: str) -> str:
    """Join the process group when started by torchrun; returns the device this rank uses."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    cuda = device.startswith("cuda")
    torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return f"cuda:{local}"
    return device


# ---------------------------------------------------------------- features

def _chunk_features(samples: np.ndarray, spec: dict, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    spans = chunk_spans(len(samples), sample_rate=spec["sample_rate"], chunk_seconds=cfg.chunk_seconds,
                        hop_seconds=cfg.hop_seconds)
    chunks = cut_chunks(samples, spans)
    x = np.concatenate([model_input(spec, chunks[i:i + 16]).numpy() for i in range(0, len(chunks), 16)])
    return x, spans.start_times, spans.end_times


def extract(source: Source, pool: Pool, spec: dict, cfg: RunConfig, audio_kinds: list[str], pools: dict) -> Features:
    """Features of every clip of the pool: clean, ``aug_copies`` augmented copies, the held-out
    conditions (rooms, reference) and music-free background recordings; from the cache when the
    file content and parameters match. Unreadable files are skipped with a warning and listed."""
    result = Features(items=[], kept=[], skipped=list(source.problems))
    if source.kind == "table":
        for index, clip in enumerate(pool.clips):
            row = source.table[clip.relpath]
            result.items.append(ClipFeatures(clip, hashlib.sha256(row.tobytes()).hexdigest(), row[None], np.zeros(1),
                                             np.full(1, 30.0), 30.0))
            result.kept.append(index)
        return result
    params = {"features": spec, "chunk": cfg.chunk_seconds, "hop": cfg.hop_seconds, "seed": cfg.seed,
              "augment": audio_kinds, "version": _CACHE_VERSION,
              "voices": hashlib.sha256(b"".join(np.ascontiguousarray(v[::97]).tobytes()
                                                for p in pools.values() for v in p.voices)).hexdigest()[:16]}
    cache = EmbeddingCache(cfg.cache, params)
    copies = cfg.aug_copies if audio_kinds else 0
    held_out = [c for c in EVAL_CONDITIONS if c != "clean"]
    variants = ["clean"] + held_out + [f"aug{i}" for i in range(copies)]
    sr = spec["sample_rate"]
    for index, clip in enumerate(tqdm(pool.clips, desc="features", unit="clip", disable=not cfg.progress or _rank() > 0)):
        try:
            sha = file_sha256(clip.path)
        except OSError as exc:
            result.skipped.append({"path": clip.relpath, "error": f"cannot read the file ({exc.strerror})"})
            print(f"warning: skipping {clip.relpath}: cannot read the file ({exc.strerror})", file=sys.stderr)
            continue
        got = {v: cache.get(sha, v) for v in variants}
        result.cached += sum(g is not None for g in got.values())
        if any(g is None for g in got.values()):
            audio = load_or_skip(clip, sr, result.skipped)
            if audio is None:
                continue
            for v in variants:
                if got[v] is not None:
                    continue
                rng = variant_rng(cfg.seed, sha, v)
                if v.startswith("aug"):
                    samples, snr = augment_audio(audio.samples, sr, audio_kinds, rng, copy_index=int(v[3:]),
                                                 speech=pools["train"])
                    drawn = {"snr_db": snr}
                else:
                    samples, drawn = make_variant(v, audio.samples, sr, rng, pools)
                x, starts, ends = _chunk_features(samples, spec, cfg)
                cache.put(sha, v, x=x, starts=starts, ends=ends, duration=np.array(audio.duration),
                          drawn=np.array(json.dumps(drawn)))
                got[v] = cache.get(sha, v)  # read back, so a first run computes exactly what a cached re-run does
                result.computed += 1
        drawn = {v: json.loads(str(got[v]["drawn"])) for v in variants}
        result.items.append(ClipFeatures(
            clip, sha, got["clean"]["x"], got["clean"]["starts"], got["clean"]["ends"], float(got["clean"]["duration"]),
            copies=[got[f"aug{i}"]["x"] for i in range(copies)],
            copy_snr=[drawn[f"aug{i}"].get("snr_db", SNR_CLEAN_DB) for i in range(copies)],
            conditions={v: got[v]["x"] for v in held_out}, drawn={v: drawn[v] for v in held_out}))
        result.kept.append(index)
    result.background = non_music_features(cache, cfg.background_clips, cfg.seed, sr, pools,
                                           lambda y: _chunk_features(y, spec, cfg)[0])
    return result


# ---------------------------------------------------------------- training

def _arrays(items: list[ClipFeatures], genres: list[str], *, with_copies: bool):
    """(x, y, weights, clip ids, snr) over the items' clean chunks (and copies)."""
    xs, ys, ids, snrs = [], [], [], []
    for it in items:
        for x, snr in [(it.clean, SNR_CLEAN_DB)] + (list(zip(it.copies, it.copy_snr)) if with_copies else []):
            xs.append(x)
            ys += [genres.index(it.clip.label)] * len(x)
            ids += [it.clip.clip_id] * len(x)
            snrs += [snr] * len(x)
    w = clip_weights([genres[y] for y in ys], ids)
    return (torch.from_numpy(np.concatenate(xs)).float(), torch.tensor(ys), torch.from_numpy(w).float(),
            np.array(ids), np.array(snrs, dtype=np.float32))


def _new_model(arch: str, genres: list[str], bank_size: int, x_train: torch.Tensor, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)  # the initial weights depend on the seed and the stage only
    model = build(arch, {"n_genres": len(genres), "bank_size": bank_size})
    if isinstance(model, TabularMLP):
        model.set_input_statistics(x_train)
    return model


@torch.inference_mode()
def _embed(model: torch.nn.Module, x: np.ndarray | torch.Tensor, device: str) -> torch.Tensor:
    model.eval()
    x = torch.as_tensor(x).float()
    return torch.cat([model.embed(x[i:i + 64].to(device)).float().cpu() for i in range(0, len(x), 64)])


@torch.inference_mode()
def _outputs(model: torch.nn.Module, x: np.ndarray, device: str) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in model.head.judge(_embed(model, x, device)).items()}


def _train_stage(name: str, index: int, items: list[ClipFeatures], train: list[int], val: list[int],
                 genres: list[str], cfg: RunConfig, device: str, run_dir: Path, kinds: list[str],
                 epochs: int, background: dict[str, list[np.ndarray]]) -> tuple[torch.nn.Module, dict]:
    """Fit one stage; returns the model holding the best weights, its novelty bank and quality
    layer filled, and {best_epoch, history, last_state}."""
    x, y, w, ids, snr = _arrays([items[i] for i in train], genres, with_copies=True)
    val_xy = _arrays([items[i] for i in val], genres, with_copies=False)[:2] if val else None
    model = _new_model(cfg.arch, genres, min(BANK_SIZE, len(x)), x, cfg.seed * 1000 + index)
    config = TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         patience=cfg.patience, seed=cfg.seed * 1000 + index, device=device)
    bar = tqdm(total=epochs, desc=f"train {name}", unit="epoch", disable=not cfg.progress or _rank() > 0)
    stage_dir = run_dir / name
    if cfg.resume and (stage_dir / STATE_FILE).exists():
        bar.update(load_state(stage_dir / STATE_FILE)["epoch"] + 1)

    def on_epoch(record: dict) -> None:
        bar.update(1)
        bar.set_postfix({k: v for k, v in record.items() if k != "epoch"})

    augment = spec_augment if "specaugment" in kinds else None
    result = fit(model, (x, y, w), val_xy, config, stage_dir, resume=cfg.resume, augment=augment, on_epoch=on_epoch)
    bar.close()
    last = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(result.best_state)
    # The novelty bank: embeddings of (up to BANK_SIZE) training chunks, drawn by clip weight.
    p = w.double().numpy()
    rows = np.sort(np.random.default_rng(cfg.seed).choice(len(x), size=len(model.head.bank), replace=False, p=p / p.sum()))
    emb = _embed(model, x, device)
    fill_novelty_bank(model.head, emb[torch.from_numpy(rows)], ids[rows])
    if background.get("train"):  # the quality layer: music at its SNR, rooms without music, other sounds
        room, other = (_embed(model, np.concatenate(background[k]), device).numpy() for k in ("train", "other-train"))
        qx, kind, qsnr, qw = quality_rows(emb.numpy(), snr, w.numpy(), room, other)
        fit_quality(model.head, qx, kind, qsnr, weights=qw)
    return model, {"best_epoch": result.best_epoch, "history": result.history, "last_state": last}


def _held(model, items: list[ClipFeatures], indices: list[int], fold, device: str) -> list[Held]:
    out = []
    for i in indices:
        it = items[i]
        outputs = {"clean": _outputs(model, it.clean, device)}
        outputs.update({c: _outputs(model, x, device) for c, x in it.conditions.items()})
        out.append(Held(index=i, fold=fold, outputs=outputs, conditions=it.drawn))
    return out


def _main_plan(pool: Pool, cfg: RunConfig) -> Plan:
    if cfg.split == "holdout":
        return holdout_plan(pool.labels, cfg.val_fraction, cfg.seed)
    if cfg.split == "kfold":
        return main_plan(pool, cfg.folds, cfg.seed)
    raise ValueError(f"unknown split {cfg.split!r} (kfold or holdout)")


def evaluate_folder(model_dir: Path, folder: str, sides: dict[str, str]) -> dict:
    """Classify every clip of a labelled audio folder through genre_model, as the app would.

    ``sides`` maps clip ids of the training data to the side they were on; a folder clip whose id
    trained the model is marked ``seen_in_training``."""
    from genre_model.predict import Classifier
    classifier = Classifier(model_dir, device="cpu")
    genres = classifier.labels
    records, skipped = [], []
    for clip in find_clips(folder):
        try:
            pred = classifier.predict(clip.path)
        except AudioError as exc:
            skipped.append({"path": clip.relpath, "error": exc.message})
            continue
        mean = pred.probabilities.mean(axis=0)
        record = {"path": clip.relpath, "label": clip.label, "predicted": genres[int(mean.argmax())],
                  "confidence": round(float(mean.max()), 4), "fold": "external",
                  "side": sides.get(clip_key(clip.relpath), "not in the training data")}
        record["seen_in_training"] = record["side"] == "train"
        records.append(record)
    usable = [r for r in records if r["label"] in genres]

    def metrics(rs: list[dict]) -> dict | None:
        if not rs:
            return None
        return classification_report([genres.index(r["label"]) for r in rs],
                                     [genres.index(r["predicted"]) for r in rs], genres)
    return {"data_root": str(folder), "all": metrics(usable),
            "not_seen_in_training": metrics([r for r in usable if not r["seen_in_training"]]),
            "n_seen_in_training": sum(r["seen_in_training"] for r in usable),
            "sides": {side: sum(r["side"] == side for r in usable) for side in sorted({r["side"] for r in usable})},
            "clips": records, "skipped": skipped}


def _run_plan(plan: Plan, pool: Pool, items, genres, cfg, device, run_dir, kinds, background, *, first_index: int = 0,
              artists_apart: bool = True):
    """Train every stage of ``plan``; returns held-out outputs, curves, best epochs and the last model."""
    assert_disjoint(pool, plan, artists=artists_apart and pool.grouped_by_artist)
    held, curves, best_epochs = [], {}, []
    model = info = None
    for number, stage in enumerate(plan.stages):
        # With --resume a finished stage returns at once from its saved state; a cut one continues.
        model, info = _train_stage(stage.name, first_index + number, items, stage.train, stage.val, genres, cfg, device,
                                   run_dir, kinds, cfg.epochs, background)
        held += _held(model, items, stage.test, number if plan.refit_all else stage.name, device)
        curves[stage.name] = info["history"]
        best_epochs.append(info["best_epoch"])
    return held, curves, best_epochs, model, info


def run(cfg: RunConfig, command: str) -> dict:
    """Train ``cfg.arch`` and write ``cfg.out``; returns the evaluation report."""
    from train.speech import speech_pools
    started = time.time()
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    device = _init_distributed(device)
    torch.use_deterministic_algorithms(True, warn_only=True)
    kinds = parse_kinds(cfg.augment)
    source = open_source(cfg.data)
    if (cfg.arch == "tabular-mlp") != (source.kind == "table"):
        raise ValueError("tabular-mlp trains on a feature table (features_30_sec.csv layout), and only it does; "
                         f"{', '.join(cfg.data)} is a {source.kind}")
    if source.kind == "table":
        kinds = []  # table rows have no audio to alter and no time or frequency axis to mask
    audio_kinds = [k for k in kinds if k in AUDIO_KINDS]
    spec = feature_spec(cfg.arch)
    pool = build_pool(source.clips, split_dir=cfg.split_files, artists_file=cfg.artists)
    # Rank 0 writes the espeak-ng voices first; the other ranks then read the very same files.
    pools = _rank0_first(lambda: speech_pools(Path(cfg.speech) if cfg.speech else None, Path(cfg.cache),
                                              spec["sample_rate"]) if source.kind != "table" else {})
    out = Path(cfg.out)
    run_dir = out / "run"
    if _rank() == 0:
        if not cfg.resume and run_dir.exists():
            shutil.rmtree(run_dir)  # a fresh run never mixes with an old one's state
        run_dir.mkdir(parents=True, exist_ok=True)
    # Rank 0 extracts first; the other ranks then read the same features from the cache.
    features = _rank0_first(lambda: extract(source, pool, spec, cfg, audio_kinds, pools))
    pool = subset(pool, features.kept)
    items = features.items
    genres = sorted({c.label for c in source.clips})
    if len({it.clip.label for it in items}) < 2:
        raise ValueError("fewer than two labels have readable clips; nothing to learn")
    background_train = features.background
    t_extract = time.time() - started

    plan = _main_plan(pool, cfg)
    held, curves, best_epochs, model, stage_info = _run_plan(plan, pool, items, genres, cfg, device, run_dir, kinds,
                                                             background_train, artists_apart=cfg.split == "kfold")
    last_state = stage_info["last_state"]
    info_of = [{"starts": it.starts, "ends": it.ends, "duration": it.duration} for it in items]
    main = evaluate_held(plan.description, held, pool, info_of, genres)
    evaluations = {"artist_kfold" if plan.refit_all else "holdout": main}
    split = split_plan(pool, cfg.seed) if cfg.split_files else None
    if split is not None:
        s_held, s_curves, _, _, _ = _run_plan(split, pool, items, genres, cfg, device, run_dir, kinds, background_train,
                                              first_index=len(plan.stages) + 1)
        curves.update(s_curves)
        evaluations["split"] = evaluate_held(split.description, s_held, pool, info_of, genres, rules=main["rules"])
    final_epochs = None
    if plan.refit_all:
        # Every clip trains the shipped model, for as many epochs as early stopping chose on average.
        final_epochs = int(np.median(best_epochs)) + 1
        model, stage_info = _train_stage("final", len(plan.stages), items, list(range(len(items))), [], genres, cfg,
                                         device, run_dir, kinds, final_epochs, background_train)
        curves["final"] = stage_info["history"]
        last_state = None  # without validation the best epoch is the last
    model.head.temperature.fill_(main["calibration"]["temperature"])
    t_train = time.time() - started - t_extract

    rules = main["rules"]
    metrics = main["metrics"]
    hashes = {it.clip.relpath: it.sha256 for it in items}
    n_params = sum(p.numel() for p in model.parameters())
    info = ModelInfo(
        arch=cfg.arch, arch_params={"n_genres": len(genres), "bank_size": len(model.head.bank)}, labels=genres,
        features=spec, chunk_seconds=cfg.chunk_seconds, hop_seconds=cfg.hop_seconds,
        metrics={"split": plan.description, "accuracy_clean": metrics["clean"]["accuracy"],
                 "accuracy_clean_ci95": metrics["clean"]["accuracy_ci95"],
                 "macro_f1_clean": metrics["clean"]["macro_f1"], "n_clips": metrics["clean"]["n"],
                 "accuracy_noisy_room": metrics.get("noisy_room", {}).get("accuracy"),
                 "accuracy_reference_mic": metrics.get("reference_mic", {}).get("accuracy")},
        training_data={"fingerprint": fingerprint([it.clip for it in items], hashes), "n_files": len(items),
                       "roots": [Path(d).name for d in cfg.data], "augment": kinds,
                       "aug_copies": cfg.aug_copies if audio_kinds else 0, "excluded": pool.notes.get("excluded", {})},
        judgement=rules.to_dict(), description=f"{cfg.arch} trained from scratch by python -m train",
    )
    distributed = None
    if torch.distributed.is_initialized():
        digests = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(digests, state_sha256(model))
        distributed = {"world_size": len(digests), "backend": torch.distributed.get_backend(),
                       "weights_sha256_per_rank": digests, "ranks_agree": len(set(digests)) == 1}
    report = {
        "model": out.name, "arch": cfg.arch, "labels": genres, "split": plan.description, "seed": cfg.seed,
        "recipe": {**{k: v for k, v in asdict(cfg).items() if k not in ("data", "out", "cache", "resume", "progress")},
                   "augment": ",".join(kinds), "aug_copies": cfg.aug_copies if audio_kinds else 0},
        "data_root": str(source.root), "data": [str(d) for d in cfg.data], "data_kind": source.kind,
        "fingerprint": info.training_data["fingerprint"],
        "pool": {"files": len(items), "clips": len({it.clip.clip_id for it in items}), "groups": len(set(pool.groups)),
                 "by_source": {s: sum(it.clip.source == s for it in items) for s in sorted({it.clip.source for it in items})},
                 **pool.notes},
        "metrics": metrics, "clips": main["records"],
        "evaluations": {k: for_report(v) for k, v in evaluations.items()},
        "judgement": {"rules": rules.to_dict(), "calibration": main["calibration"],
                      "background_eval": {name: background_flags([_outputs(model, x, device) for x in
                                                                  features.background.get(key, [])], rules)
                                          for name, key in (("room_without_music", "eval"), ("not_music", "other-eval"))}},
        "skipped": features.skipped, "n_skipped": len(features.skipped),
        "split_notes": pool.notes, "final_fit_epochs": final_epochs, "best_epochs": best_epochs,
        "curves": curves, "n_parameters": n_params, "command": command, "code_version": __version__,
        "python": platform.python_version(), "torch": torch.__version__, "device": device,
        "feature_sets": {"computed": features.computed, "cached": features.cached},
        "distributed": distributed,
    }
    if _rank() == 0:
        save_checkpoint(model, info, out)
        if last_state is not None:
            model.load_state_dict(last_state)
            save_checkpoint(model, info, out / "last")
        if cfg.eval_data:
            sides = {clip_key(it.clip.relpath): "train" for it in items} if plan.refit_all else {
                clip_key(items[i].clip.relpath): side for side, indices in
                (("test", plan.stages[0].test), ("valid", plan.stages[0].val), ("train", plan.stages[0].train))
                for i in indices}
            report["external_eval"] = evaluate_folder(out, cfg.eval_data, sides)
        from train.report import cpu_seconds_per_30s_clip
        report["cpu_seconds_per_30s_clip"] = cpu_seconds_per_30s_clip(out)
        report["timings_s"] = {"extract": round(t_extract, 1), "train": round(t_train, 1),
                               "total": round(time.time() - started, 1)}
        _write_outputs(out, report)
    _barrier()
    return report


def _write_outputs(out: Path, report: dict) -> None:
    from genre_model import plots
    from train.model_card import write_model_card
    (out / "eval_report.json").write_text(json.dumps(report, indent=1))
    (out / "curves.json").write_text(json.dumps(report["curves"], indent=1))
    plots.training_curves(report["curves"]).savefig(out / "curves.png")
    write_model_card(out, report)
