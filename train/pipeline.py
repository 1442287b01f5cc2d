"""Train one of the from-scratch architectures (cnn, crnn-gru, crnn-lstm, mfcc5-cnn,
tabular-mlp): features (cached) -> honest splits -> training with early stopping -> report,
checkpoint and model card. ``python -m train`` is the command; this module does the work."""

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

import numpy as np
import torch
from tqdm import tqdm

from genre_model import __version__
from genre_model.checkpoint import ModelInfo, save_checkpoint
from genre_model.chunking import chunk_spans, cut_chunks
from genre_model.errors import AudioError
from genre_model.features import MelParams, model_input
from genre_model.mfcc5 import Mfcc5Params
from genre_model.metrics import classification_report
from genre_model.models import build
from genre_model.models.trained import TabularMLP
from genre_model.tabular import SAMPLE_RATE as TABLE_RATE
from train.augment import AUDIO_KINDS, augment_audio, parse_kinds, spec_augment
from train.data import LabelledClip, file_sha256, find_clips, fingerprint, load_or_skip, state_sha256
from train.embeddings import EmbeddingCache
from train.head import fill_novelty_bank
from train.micsim import REFERENCE_CONDITIONS, simulate_microphone
from train.report import clip_record, cpu_seconds_per_30s_clip, summarize
from train.sources import Source, clip_key, open_source
from train.splits import Plan, Stage, holdout_plan, kfold_plan, split_files_plan
from train.trainer import STATE_FILE, TrainConfig, fit, load_state

TRAINED_ARCHS = ("cnn", "crnn-gru", "crnn-lstm", "mfcc5-cnn", "tabular-mlp")
DEFAULT_CACHE = Path.home() / ".cache" / "genre_model" / "features"
BANK_SIZE = 2048
_CACHE_VERSION = 1  # bump when feature extraction changes in a way its parameters do not show


def feature_spec(arch: str) -> dict:
    """The ``features`` metadata of an architecture: its input kind and parameters."""
    if arch == "mfcc5-cnn":
        return {"kind": "mfcc5", **Mfcc5Params().to_dict()}
    if arch == "tabular-mlp":
        return {"kind": "tabular", "sample_rate": TABLE_RATE}
    return {"kind": "log-mel", **MelParams().to_dict()}


@dataclass
class RunConfig:
    data: str
    arch: str
    out: str
    seed: int = 0
    device: str = "auto"
    split: str = "kfold"          # kfold | holdout; --split-files overrides
    folds: int = 5
    val_fraction: float = 0.2
    split_files: str | None = None
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6
    augment: str = "specaugment,micsim"
    aug_copies: int = 2
    chunk_seconds: float | None = None   # default: 3 s chunks, 30 s for tabular-mlp
    hop_seconds: float | None = None     # default: 1.5 s, 30 s for tabular-mlp
    cache: str = str(DEFAULT_CACHE)
    resume: bool = False
    eval_data: str | None = None
    progress: bool = True

    def __post_init__(self):
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
    copies: list[np.ndarray] = field(default_factory=list)  # augmented copies (training only)
    reference: np.ndarray | None = None    # the reference microphone condition (evaluation only)


@dataclass
class Features:
    items: list[ClipFeatures]
    skipped: list[dict]
    computed: int = 0
    cached: int = 0


# ---------------------------------------------------------------- distributed helpers

def _rank() -> int:
    return torch.distributed.get_rank() if torch.distributed.is_initialized() else 0


def _barrier() -> None:
    if torch.distributed.is_initialized():
        torch.distributed.barrier()


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


def extract(source: Source, spec: dict, cfg: RunConfig, audio_kinds: list[str]) -> Features:
    """Features of every clip: clean, ``aug_copies`` augmented copies, and the reference
    microphone condition; from the cache when the file content and parameters match. Unreadable
    files are skipped with a warning and listed."""
    result = Features(items=[], skipped=list(source.problems))
    if source.kind == "table":
        for clip in source.clips:
            result.items.append(ClipFeatures(clip, hashlib.sha256(source.table[clip.relpath].tobytes()).hexdigest(),
                                             source.table[clip.relpath][None], np.zeros(1), np.full(1, 30.0)))
        return result
    params = {"features": spec, "chunk": cfg.chunk_seconds, "hop": cfg.hop_seconds, "seed": cfg.seed,
              "augment": audio_kinds, "version": _CACHE_VERSION}
    cache = EmbeddingCache(cfg.cache, params)
    copies = cfg.aug_copies if audio_kinds else 0
    variants = ["clean", "reference"] + [f"aug{i}" for i in range(copies)]
    sr = spec["sample_rate"]
    for clip in tqdm(source.clips, desc="features", unit="clip", disable=not cfg.progress or _rank() > 0):
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
                # Streams seeded by run seed, clip content and variant: reproducible, order-independent.
                rng = np.random.default_rng([cfg.seed, int(sha[:12], 16), variants.index(v)])
                if v == "clean":
                    samples = audio.samples
                elif v == "reference":
                    samples, _ = simulate_microphone(audio.samples, sr, rng, REFERENCE_CONDITIONS)
                else:
                    samples = augment_audio(audio.samples, sr, audio_kinds, rng)
                x, starts, ends = _chunk_features(samples, spec, cfg)
                cache.put(sha, v, x=x, starts=starts, ends=ends)
                got[v] = cache.get(sha, v)  # read back, so a first run computes exactly what a cached re-run does
                result.computed += 1
        result.items.append(ClipFeatures(clip, sha, got["clean"]["x"], got["clean"]["starts"], got["clean"]["ends"],
                                         copies=[got[f"aug{i}"]["x"] for i in range(copies)],
                                         reference=got["reference"]["x"]))
    return result


# ---------------------------------------------------------------- training

def _arrays(items: list[ClipFeatures], genres: list[str], *, with_copies: bool) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for it in items:
        for x in [it.clean] + (it.copies if with_copies else []):
            xs.append(x)
            ys.append(np.full(len(x), genres.index(it.clip.label)))
    return torch.from_numpy(np.concatenate(xs)).float(), torch.from_numpy(np.concatenate(ys)).long()


def _new_model(arch: str, genres: list[str], bank_size: int, x_train: torch.Tensor, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)  # the initial weights depend on the seed and the stage only
    model = build(arch, {"n_genres": len(genres), "bank_size": bank_size})
    if isinstance(model, TabularMLP):
        model.set_input_statistics(x_train)
    return model


@torch.inference_mode()
def _probabilities(model: torch.nn.Module, x: np.ndarray, device: str) -> np.ndarray:
    model.eval()
    out = [torch.softmax(model(torch.from_numpy(x[i:i + 64]).float().to(device)).float(), dim=1).cpu().numpy()
           for i in range(0, len(x), 64)]
    return np.concatenate(out)


def _train_stage(name: str, index: int, items: list[ClipFeatures], train: list[int], val: list[int],
                 genres: list[str], cfg: RunConfig, device: str, run_dir: Path, kinds: list[str],
                 epochs: int) -> tuple[torch.nn.Module, dict]:
    """Fit one stage; returns the model holding the best weights and {best_epoch, history, last_state}."""
    x, y = _arrays([items[i] for i in train], genres, with_copies=True)
    val_xy = _arrays([items[i] for i in val], genres, with_copies=False) if val else None
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
    result = fit(model, (x, y), val_xy, config, stage_dir, resume=cfg.resume, augment=augment, on_epoch=on_epoch)
    bar.close()
    last = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(result.best_state)
    # The novelty bank: embeddings of (up to BANK_SIZE) training chunks, chosen by the seed.
    with torch.inference_mode():
        model.eval()
        rows = torch.from_numpy(np.random.default_rng(cfg.seed).permutation(len(x))[:len(model.head.bank)])
        emb = torch.cat([model.embed(x[rows[i:i + 64]].to(device)).float() for i in range(0, len(rows), 64)])
    fill_novelty_bank(model.head, emb)
    return model, {"best_epoch": result.best_epoch, "history": result.history, "last_state": last}


def _plan(source: Source, items: list[ClipFeatures], cfg: RunConfig) -> Plan:
    labels = [it.clip.label for it in items]
    if cfg.split_files:
        return split_files_plan([clip_key(it.clip.relpath) for it in items], cfg.split_files)
    if cfg.split == "holdout":
        return holdout_plan(labels, cfg.val_fraction, cfg.seed)
    if cfg.split == "kfold":
        return kfold_plan(labels, cfg.folds, cfg.seed)
    raise ValueError(f"unknown split {cfg.split!r} (kfold or holdout, or give --split-files)")


def _records(model, items: list[ClipFeatures], indices: list[int], genres: list[str], fold, device: str) -> list[dict]:
    return [clip_record(items[i].clip.relpath, items[i].clip.label, genres,
                        _probabilities(model, items[i].clean, device), items[i].starts, items[i].ends, fold=fold,
                        reference_probs=None if items[i].reference is None
                        else _probabilities(model, items[i].reference, device))
            for i in indices]


def evaluate_folder(model_dir: Path, folder: str, sides: dict[str, str]) -> dict:
    """Classify every clip of a labelled audio folder through genre_model, as the app would.

    ``sides`` maps clip ids of the training data to the side they were on ("train", "valid",
    "test"); a folder clip whose id trained the model is marked ``seen_in_training``."""
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
        record = clip_record(clip.relpath, clip.label, genres, pred.probabilities, pred.starts, pred.ends,
                             fold="external")
        record["side"] = sides.get(clip_key(clip.relpath), "not in the training data")
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


def run(cfg: RunConfig, command: str) -> dict:
    """Train ``cfg.arch`` and write ``cfg.out``; returns the evaluation report."""
    started = time.time()
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    device = _init_distributed(device)
    torch.use_deterministic_algorithms(True, warn_only=True)
    kinds = parse_kinds(cfg.augment)
    source = open_source(cfg.data)
    if (cfg.arch == "tabular-mlp") != (source.kind == "table"):
        raise ValueError("tabular-mlp trains on a feature table (features_30_sec.csv layout), and only it does; "
                         f"{cfg.data} is a {source.kind}")
    if source.kind == "table":
        kinds = []  # table rows have no audio to alter and no time or frequency axis to mask
    audio_kinds = [k for k in kinds if k in AUDIO_KINDS]
    spec = feature_spec(cfg.arch)
    out = Path(cfg.out)
    run_dir = out / "run"
    if _rank() == 0:
        if not cfg.resume and run_dir.exists():
            shutil.rmtree(run_dir)  # a fresh run never mixes with an old one's state
        run_dir.mkdir(parents=True, exist_ok=True)
    # Rank 0 extracts first; the other ranks then read the same features from the cache.
    features = extract(source, spec, cfg, audio_kinds) if _rank() == 0 else None
    _barrier()
    if features is None:
        features = extract(source, spec, cfg, audio_kinds)
    items = features.items
    genres = source.labels
    if len({it.clip.label for it in items}) < 2:
        raise ValueError("fewer than two labels have readable clips; nothing to learn")
    t_extract = time.time() - started

    plan = _plan(source, items, cfg)
    records, curves, best_epochs = [], {}, []
    model = last_state = None
    for index, stage in enumerate(plan.stages):
        # With --resume a finished stage returns at once from its saved state; a cut one continues.
        model, info = _train_stage(stage.name, index, items, stage.train, stage.val, genres, cfg, device, run_dir,
                                   kinds, cfg.epochs)
        last_state = info["last_state"]
        records += _records(model, items, stage.test, genres, index if plan.refit_all else stage.name, device)
        curves[stage.name] = info["history"]
        best_epochs.append(info["best_epoch"])
    final_epochs = None
    if plan.refit_all:
        # Every clip trains the shipped model, for as many epochs as early stopping chose on average.
        final_epochs = int(np.median(best_epochs)) + 1
        model, info = _train_stage("final", len(plan.stages), items, list(range(len(items))), [], genres, cfg,
                                   device, run_dir, kinds, final_epochs)
        curves["final"] = info["history"]
        last_state = None  # without validation the best epoch is the last
    t_train = time.time() - started - t_extract

    metrics = summarize(records, genres)
    hashes = {it.clip.relpath: it.sha256 for it in items}
    n_params = sum(p.numel() for p in model.parameters())
    info = ModelInfo(
        arch=cfg.arch, arch_params={"n_genres": len(genres), "bank_size": len(model.head.bank)}, labels=genres,
        features=spec, chunk_seconds=cfg.chunk_seconds, hop_seconds=cfg.hop_seconds,
        metrics={"split": plan.description, "accuracy_clean": metrics["clean"]["accuracy"],
                 "accuracy_clean_ci95": metrics["clean"]["accuracy_ci95"],
                 "macro_f1_clean": metrics["clean"]["macro_f1"], "n_clips": len(records),
                 **({"accuracy_reference_mic": metrics["reference_mic"]["accuracy"]} if "reference_mic" in metrics else {})},
        training_data={"fingerprint": fingerprint([it.clip for it in items], hashes), "n_clips": len(items),
                       "root": Path(cfg.data).name, "augment": kinds, "aug_copies": cfg.aug_copies if audio_kinds else 0},
        description=f"{cfg.arch} trained from scratch by python -m train",
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
        "data_root": str(cfg.data), "data_kind": source.kind, "fingerprint": info.training_data["fingerprint"],
        "metrics": metrics, "clips": records, "skipped": features.skipped, "n_skipped": len(features.skipped),
        "split_notes": plan.notes, "final_fit_epochs": final_epochs, "best_epochs": best_epochs,
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
            sides = {clip_key(items[i].clip.relpath): side for side, indices in
                     (("test", plan.stages[0].test), ("valid", plan.stages[0].val), ("train", plan.stages[0].train))
                     for i in indices}
            if plan.refit_all:  # the final fit saw every clip
                sides = {clip_key(it.clip.relpath): "train" for it in items}
            report["external_eval"] = evaluate_folder(out, cfg.eval_data, sides)
        report["cpu_seconds_per_30s_clip"] = cpu_seconds_per_30s_clip(out)
        report["timings_s"] = {"extract": round(t_extract, 1), "train": round(t_train, 1),
                               "total": round(time.time() - started, 1)}
        _write_outputs(out, report)
    _barrier()
    return report


def _write_outputs(out: Path, report: dict) -> None:
    from genre_model import plots
    from train.model_card import write_trained_model_card
    (out / "eval_report.json").write_text(json.dumps(report, indent=1))
    (out / "curves.json").write_text(json.dumps(report["curves"], indent=1))
    plots.training_curves(report["curves"]).savefig(out / "curves.png")
    write_trained_model_card(out, report)
