"""The recipe of the networks trained from scratch (cnn, crnn-gru, crnn-lstm, mfcc5-cnn,
tabular-mlp): model inputs computed the one way the app computes them (cached), augmented copies,
and training with early stopping (train/trainer.py), through the skeleton of train/recipe.py.
"""

from __future__ import annotations

import hashlib
import shutil
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from genre_model.checkpoint import ModelInfo
from genre_model.chunking import chunk_spans, cut_chunks
from genre_model.datasets import find_clips
from genre_model.errors import AudioError
from genre_model.features import model_input
from genre_model.fitting import SNR_CLEAN_DB, clip_weights, fill_novelty_bank, fit_quality, quality_rows
from genre_model.metrics import classification_report
from genre_model.model_dir import LAST_DIR, ModelDir
from genre_model.models import architecture, build
from genre_model.models.trained import TabularMLP
from train import distributed
from train.config import RunConfig
from train.data import file_sha256, load_or_skip
from train.embeddings import EmbeddingCache
from train.pool import Pool, main_plan, split_plan
from train.evaluation import Calibration
from train.recipe import Extraction, Fitted, Item, Recipe, Run, info_metrics, recipe_dict
from train.sources import Source, clip_key
from train.speech import pool_signature
from train.splits import Plan, Stage, holdout_plan
from train.trainer import STATE_FILE, fit, load_state
from train.variants import (AUDIO_KINDS, make_variant, non_music_features, parse_kinds, room_rows, spec_augment,
                            variant_rng)
from genre_model.report import EVAL_CONDITIONS

BANK_SIZE = 2048
_CACHE_VERSION = 2  # bump when feature extraction changes in a way its parameters do not show
_RECIPE_KEYS = ("arch", "seed", "device", "split", "folds", "val_fraction", "split_files", "artists", "speech",
                "epochs", "batch_size", "lr", "weight_decay", "patience", "augment", "aug_copies", "background_clips",
                "chunk_seconds", "hop_seconds", "eval_data")


class ScratchRecipe(Recipe):
    def __init__(self, cfg: RunConfig, source: Source):
        super().__init__(cfg, source)
        if (cfg.arch == "tabular-mlp") != (source.kind == "table"):
            raise ValueError("tabular-mlp trains on a feature table (features_30_sec.csv layout), and only it does; "
                             f"{', '.join(cfg.data)} is a {source.kind}")
        device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self.device = distributed.init(device)
        torch.use_deterministic_algorithms(True, warn_only=True)
        # table rows have no audio to alter and no time or frequency axis to mask
        self.kinds = parse_kinds(cfg.augment) if source.kind != "table" else []
        self.audio_kinds = [k for k in self.kinds if k in AUDIO_KINDS]
        self.copies = cfg.aug_copies if self.audio_kinds else 0
        self.spec = architecture(cfg.arch).features()
        self.uses_audio = source.kind != "table"
        self.run_dir = ModelDir(cfg.out).path / "run"   # resumable training state, per stage
        if distributed.rank() == 0:
            if not cfg.resume and self.run_dir.exists():
                shutil.rmtree(self.run_dir)  # a fresh run never mixes with an old one's state
            self.run_dir.mkdir(parents=True, exist_ok=True)

    @property
    def sample_rate(self) -> int:
        return int(self.spec["sample_rate"])

    def recipe_record(self) -> dict:
        return recipe_dict(self.cfg, _RECIPE_KEYS) | {"augment": ",".join(self.kinds), "aug_copies": self.copies}

    # ---------------------------------------------------------------- features

    def _chunk_features(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        spans = chunk_spans(len(samples), sample_rate=self.sample_rate, chunk_seconds=self.cfg.chunk_seconds,
                            hop_seconds=self.cfg.hop_seconds)
        chunks = cut_chunks(samples, spans)
        x = np.concatenate([model_input(self.spec, chunks[i:i + 16]).numpy() for i in range(0, len(chunks), 16)])
        return x, spans.start_times, spans.end_times

    def extract(self, pool: Pool, pools: dict) -> Extraction:
        """Features of every clip of the pool: clean, ``aug_copies`` augmented copies, the held-out
        conditions (rooms, reference) and music-free background recordings; from the cache when the
        file content and parameters match. Unreadable files are skipped with a warning and listed."""
        cfg, source = self.cfg, self.source
        result = Extraction(items=[], kept=[], skipped=list(source.problems))
        if source.kind == "table":
            for index, clip in enumerate(pool.clips):
                row = source.table[clip.relpath]
                result.items.append(Item(clip, hashlib.sha256(row.tobytes()).hexdigest(), np.zeros(1),
                                         np.full(1, 30.0), 30.0, data={"clean": row[None]}))
                result.kept.append(index)
            return result
        params = {"features": self.spec, "chunk": cfg.chunk_seconds, "hop": cfg.hop_seconds, "seed": cfg.seed,
                  "augment": self.audio_kinds, "version": _CACHE_VERSION,
                  "voices": pool_signature(pools)}
        cache = EmbeddingCache(Path(cfg.cache) / "features", params)
        variants = [c for c in EVAL_CONDITIONS] + [f"aug{i}" for i in range(self.copies)]
        sr = self.sample_rate
        for index, clip in enumerate(tqdm(pool.clips, desc="features", unit="clip",
                                          disable=not cfg.progress or distributed.rank() > 0)):
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
                    samples, drawn = make_variant(v, audio.samples, sr, variant_rng(cfg.seed, sha, v), pools,
                                                  kinds=self.audio_kinds)
                    x, starts, ends = self._chunk_features(samples)
                    cache.put(sha, v, x=x, starts=starts, ends=ends, duration=np.array(audio.duration),
                              drawn=np.array(json.dumps(drawn)))
                    got[v] = cache.get(sha, v)  # read back: a first run computes exactly what a cached re-run does
                    result.computed += 1
            clean = got["clean"]
            result.items.append(Item(clip, sha, clean["starts"], clean["ends"], float(clean["duration"]),
                                     data={v: got[v]["x"] for v in variants},
                                     drawn={v: json.loads(str(got[v]["drawn"])) for v in variants}))
            result.kept.append(index)
        result.background = non_music_features(cache, cfg.background_clips, cfg.seed, sr, pools,
                                               lambda y: self._chunk_features(y)[0])
        return result

    # ---------------------------------------------------------------- training

    def _arrays(self, items: list[Item], genres: list[str], *, with_copies: bool):
        """(x, y, weights, clip ids, snr) over the items' clean chunks (and copies)."""
        xs, ys, ids, snrs = [], [], [], []
        for it in items:
            copies = [f"aug{i}" for i in range(self.copies)] if with_copies else []
            for v in ["clean"] + copies:
                x = it.data[v]
                xs.append(x)
                ys += [genres.index(it.clip.label)] * len(x)
                ids += [it.clip.clip_id] * len(x)
                snrs += [it.drawn.get(v, {}).get("snr_db", SNR_CLEAN_DB)] * len(x)
        w = clip_weights([genres[y] for y in ys], ids)
        return (torch.from_numpy(np.concatenate(xs)).float(), torch.tensor(ys), torch.from_numpy(w).float(),
                np.array(ids), np.array(snrs, dtype=np.float32))

    @torch.inference_mode()
    def _embed(self, model: torch.nn.Module, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        model.eval()
        x = torch.as_tensor(x).float()
        return torch.cat([model.embed(x[i:i + 64].to(self.device)).float().cpu() for i in range(0, len(x), 64)])

    @torch.inference_mode()
    def outputs(self, fitted: Fitted, x: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v.numpy() for k, v in fitted.model.head.judge(self._embed(fitted.model, x)).items()}

    def fit(self, stage: Stage, index: int, items: list[Item], background: dict, epochs: int) -> Fitted:
        """Fit one stage with early stopping on its validation side; the model holds the best weights,
        its novelty bank and quality layer filled."""
        cfg = self.cfg
        genres = sorted({c.label for c in self.source.clips})
        x, y, w, ids, snr = self._arrays([items[i] for i in stage.train], genres, with_copies=True)
        val_xy = self._arrays([items[i] for i in stage.val], genres, with_copies=False)[:2] if stage.val else None
        seed = cfg.seed * 1000 + index
        torch.manual_seed(seed)  # the initial weights depend on the seed and the stage only
        model = build(cfg.arch, {"n_genres": len(genres), "bank_size": min(BANK_SIZE, len(x))})
        if isinstance(model, TabularMLP):
            model.set_input_statistics(x)
        bar = tqdm(total=epochs, desc=f"train {stage.name}", unit="epoch",
                   disable=not cfg.progress or distributed.rank() > 0)
        stage_dir = self.run_dir / stage.name
        if cfg.resume and (stage_dir / STATE_FILE).exists():
            bar.update(load_state(stage_dir / STATE_FILE)["epoch"] + 1)

        def on_epoch(record: dict) -> None:
            bar.update(1)
            bar.set_postfix({k: v for k, v in record.items() if k != "epoch"})

        result = fit(model, (x, y, w), val_xy, cfg.train_config(epochs=epochs, seed=seed, device=self.device), stage_dir,
                     resume=cfg.resume, augment=spec_augment if "specaugment" in self.kinds else None,
                     on_epoch=on_epoch)
        bar.close()
        last = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(result.best_state)
        # The novelty bank: embeddings of (up to BANK_SIZE) training chunks, drawn by clip weight.
        p = w.double().numpy()
        rows = np.sort(np.random.default_rng(cfg.seed).choice(len(x), size=len(model.head.bank), replace=False,
                                                               p=p / p.sum()))
        emb = self._embed(model, x)
        fill_novelty_bank(model.head, emb[torch.from_numpy(rows)], ids[rows])
        if background.get("train"):  # the quality layer: music at its SNR, rooms without music, other sounds
            room, other = (self._embed(model, np.concatenate(rows)).numpy()
                           for rows in (room_rows(background), background["other-train"]))
            qx, kind, qsnr, qw = quality_rows(emb.numpy(), snr, w.numpy(), room, other)
            fit_quality(model.head, qx, kind, qsnr, weights=qw)
        return Fitted(model, best_epoch=result.best_epoch, history=result.history, last_state=last)

    def main_plan(self, pool: Pool) -> Plan:
        if self.cfg.split == "holdout":
            return holdout_plan(pool.labels, self.cfg.val_fraction, self.cfg.seed)
        if self.cfg.split == "kfold":
            return main_plan(pool, self.cfg.folds, self.cfg.seed)
        raise ValueError(f"unknown split {self.cfg.split!r} (kfold or holdout)")

    def other_plans(self, pool: Pool) -> list[tuple[str, Plan, bool]]:
        split = split_plan(pool, self.cfg.seed) if self.cfg.split_files else None
        return [("split", split, True)] if split is not None else []

    def final_epochs(self, fits: list[Fitted]) -> int:
        """As many epochs as early stopping chose on average."""
        return int(np.median([f.best_epoch for f in fits])) + 1

    def model(self, fitted: Fitted, cal: Calibration, genres: list[str]) -> torch.nn.Module:
        fitted.model.head.temperature.fill_(cal.temperature)
        return fitted.model

    def model_info(self, model: torch.nn.Module, genres: list[str], run: Run) -> ModelInfo:
        cfg, pool = self.cfg, run.pool
        return ModelInfo(
            arch=cfg.arch, arch_params={"n_genres": len(genres), "bank_size": len(model.head.bank)}, labels=genres,
            features=self.spec, chunk_seconds=cfg.chunk_seconds, hop_seconds=cfg.hop_seconds,
            metrics=info_metrics(run.main),
            training_data={"fingerprint": run.fingerprint, "n_files": len(run.extraction.items),
                           "roots": [Path(d).name for d in cfg.data], "augment": self.kinds,
                           "aug_copies": self.copies, "excluded": pool.notes.get("excluded", {})},
            judgement=run.main["rules"].to_dict(), description=f"{cfg.arch} trained from scratch by python -m train")

    def report_extra(self, run: Run) -> dict:
        return {"data_kind": self.source.kind, "final_fit_epochs": self.final_epochs(run.fits) if run.main_plan.refit_all
                else None, "best_epochs": [f.best_epoch for f in run.fits], "curves": run.curves,
                "n_parameters": sum(p.numel() for p in run.final.model.parameters()), "device": self.device}

    def write_extra(self, out: ModelDir, run: Run) -> dict:
        if run.final.last_state is not None:  # early stopping kept an earlier epoch: the last one too
            best = {k: v.clone() for k, v in run.final.model.state_dict().items()}
            run.final.model.load_state_dict(run.final.last_state)
            from genre_model.checkpoint import read_info, save_checkpoint
            save_checkpoint(run.final.model, read_info(out.path), out.file(LAST_DIR))
            run.final.model.load_state_dict(best)
        out.write_curves(run.curves)
        if not self.cfg.eval_data:
            return {}
        items, stage = run.extraction.items, run.main_plan.stages[0]
        sides = {clip_key(it.clip.relpath): "train" for it in items} if run.main_plan.refit_all else {
            clip_key(items[i].clip.relpath): side for side, indices in
            (("test", stage.test), ("valid", stage.val), ("train", stage.train)) for i in indices}
        return {"external_eval": evaluate_folder(out.path, self.cfg.eval_data, sides)}


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
