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
judge" rules are fitted on held-out artists (train/evaluation.py). The sequence is the skeleton's
(train/recipe.py); this module says how embeddings are extracted and the head is fitted.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from genre_model import __version__
from genre_model.checkpoint import ModelInfo, load_checkpoint, resolve_model_dir
from genre_model.features import MelParams
from genre_model.fitting import SNR_CLEAN_DB, clip_weights, fit_head, fit_quality, quality_rows
from genre_model.model_dir import TEACH_BASE_FILE, ModelDir
from genre_model.models.musicnn import MusiCNN, MusicnnGenre
from genre_model.report import EVAL_CONDITIONS
from genre_model.tags import tag_matrix
from genre_model.teach import BaseData
from train.config import DEFAULT_CACHE, RunConfig
from train.data import file_sha256, load_or_skip
from train.embeddings import EmbeddingCache, backbone_hash, layer_from_pooled, pooled_chunks
from train.pool import Pool, main_plan, optimistic_plan, split_plan
from train.evaluation import Calibration
from train.recipe import Extraction, Fitted, Item, Recipe, Run, info_metrics, recipe_dict
from train.sources import Source
from train.speech import pool_signature
from train.splits import Plan, Stage
from train.variants import make_variant, non_music_features, room_rows, training_variants, variant_rng

_CACHE_VERSION = 3  # bump when the variants' audio changes in a way the parameters do not show
_RECIPE_KEYS = ("seed", "folds", "layer", "l2", "mic_copies", "room_copies", "background_clips", "finetune_epochs",
                "normalize_db", "chunk_seconds", "hop_seconds")


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


class MusicnnHeadRecipe(Recipe):
    """The frozen musicnn and a head fitted (convex, no early stopping) on its embedding of each chunk."""

    def __init__(self, cfg: RunConfig, source: Source, *, backbone: MusiCNN | None = None):
        super().__init__(cfg, source)
        torch.manual_seed(cfg.seed)
        self.mel = MelParams(normalize_db=cfg.normalize_db)
        self.backbone = backbone or load_backbone(wheel=cfg.musicnn_wheel, checkpoint=cfg.backbone_from)
        self.variants = training_variants(cfg.mic_copies, cfg.room_copies)

    @property
    def sample_rate(self) -> int:
        return self.mel.sample_rate

    def recipe_record(self) -> dict:
        return recipe_dict(self.cfg, _RECIPE_KEYS + (("tag_prior",) if self.cfg.tag_prior else ()))

    def extract(self, pool: Pool, pools: dict, *, variants: list[str] | None = None) -> Extraction:
        """Pooled musicnn features of every clip in every variant (training copies and held-out
        conditions), and of the music-free background recordings; from the cache when the content and
        every parameter match. Unreadable clips are skipped with a warning."""
        cfg, mel = self.cfg, self.mel
        params = {"backbone": backbone_hash(self.backbone), "mel": mel.to_dict(), "chunk": cfg.chunk_seconds,
                  "hop": cfg.hop_seconds, "seed": cfg.seed, "voices": pool_signature(pools), "version": _CACHE_VERSION}
        cache = EmbeddingCache(Path(cfg.cache) / "embeddings", params)
        variants = (variants or self.variants) + [c for c in EVAL_CONDITIONS if c != "clean"]
        out = Extraction(items=[], kept=[], skipped=[])
        for index, clip in enumerate(tqdm(pool.clips, desc="embeddings", unit="clip", disable=not cfg.progress)):
            sha = file_sha256(clip.path)
            got = {v: cache.get(sha, v) for v in variants}
            out.cached += sum(g is not None for g in got.values())
            if any(g is None for g in got.values()):
                audio = load_or_skip(clip, mel.sample_rate, out.skipped)
                if audio is None:
                    continue
                for v in variants:
                    if got[v] is None:
                        samples, cond = make_variant(v, audio.samples, mel.sample_rate, variant_rng(cfg.seed, sha, v),
                                                     pools)
                        pooled, starts, ends = pooled_chunks(self.backbone, samples, mel=mel,
                                                             chunk_seconds=cfg.chunk_seconds, hop_seconds=cfg.hop_seconds)
                        cache.put(sha, v, pooled=pooled, starts=starts, ends=ends, duration=np.array(audio.duration),
                                  conditions=np.array(json.dumps(cond)))
                        got[v] = cache.get(sha, v)
                        out.computed += 1
            clean = got["clean"]
            out.kept.append(index)
            out.items.append(Item(clip, sha, clean["starts"], clean["ends"], float(clean["duration"]),
                                  data={v: got[v]["pooled"] for v in variants},
                                  drawn={v: json.loads(str(got[v]["conditions"])) for v in variants}))
        out.background = non_music_features(cache, cfg.background_clips, cfg.seed, mel.sample_rate, pools, lambda y: (
            pooled_chunks(self.backbone, y, mel=mel, chunk_seconds=cfg.chunk_seconds, hop_seconds=cfg.hop_seconds)[0]))
        return out

    def fit(self, stage: Stage, index: int, items: list[Item], background: dict, epochs: int) -> Fitted:
        """The genre head (and quality layer) trained on the stage's training clips in every training
        variant: a convex head needs no early stopping, so the validation side trains too."""
        cfg = self.cfg
        genres = sorted({c.label for c in self.source.clips})
        indices = stage.train_all if stage.train_all is not None else stage.train + stage.val
        rows = [(items[i], v, items[i].data[v]) for i in indices for v in self.variants]
        pooled = np.concatenate([p for _, _, p in rows])
        y = np.concatenate([np.full(len(p), genres.index(f.clip.label)) for f, _, p in rows])
        ids = [f.clip.clip_id for f, _, p in rows for _ in range(len(p))]
        w = clip_weights([f.clip.label for f, _, p in rows for _ in range(len(p))], ids)
        backbone = self.backbone
        if cfg.finetune_epochs:
            backbone = finetune_back_end(backbone, pooled, y, w, len(genres), epochs=cfg.finetune_epochs, seed=cfg.seed)
        x = layer_from_pooled(backbone, pooled, cfg.layer)
        head = fit_head(x, y, len(genres), weights=w, groups=np.array(ids), l2=cfg.l2, seed=cfg.seed)
        snr = np.concatenate([np.full(len(p), f.drawn[v].get("snr_db", SNR_CLEAN_DB)) for f, v, p in rows])
        room, other = (layer_from_pooled(backbone, np.concatenate(rows), cfg.layer)
                       for rows in (room_rows(background), background["other-train"]))
        qx, kind, qsnr, qw = quality_rows(x, snr, w, room, other)
        fit_quality(head, qx, kind, qsnr, weights=qw)
        return Fitted((backbone, head))

    @torch.inference_mode()
    def outputs(self, fitted: Fitted, x: np.ndarray) -> dict[str, np.ndarray]:
        backbone, head = fitted.model
        emb = torch.as_tensor(layer_from_pooled(backbone, x, self.cfg.layer))
        tags = torch.sigmoid(torch.as_tensor(layer_from_pooled(backbone, x, "tags")))  # what the backbone hears
        return {k: v.numpy() for k, v in head.judge(emb).items()} | {"tags": tags.numpy()}

    def main_plan(self, pool: Pool) -> Plan:
        return main_plan(pool, self.cfg.folds, self.cfg.seed)

    def other_plans(self, pool: Pool) -> list[tuple[str, Plan, bool]]:
        plans = []
        split = split_plan(pool, self.cfg.seed)
        if split is not None:
            plans.append(("split", split, True))
        if self.cfg.optimistic:
            plans.append(("same_artist_kfold", optimistic_plan(pool, self.cfg.folds, self.cfg.seed), False))
        return plans

    def tag_matrix(self, genres: list[str]) -> np.ndarray | None:
        return tag_matrix(genres) if self.cfg.tag_prior else None

    def model(self, fitted: Fitted, cal: Calibration, genres: list[str]) -> MusicnnGenre:
        backbone, head = fitted.model
        head.temperature.fill_(cal.temperature)
        model = MusicnnGenre(n_genres=head.linear.out_features, bank_size=len(head.bank), layer=self.cfg.layer,
                             tag_prior=self.cfg.tag_prior)
        model.backbone.load_state_dict(backbone.state_dict())
        model.head.load_state_dict(head.state_dict())
        if self.cfg.tag_prior:
            model.prior_map.copy_(torch.as_tensor(tag_matrix(genres)))
            model.prior_weight.copy_(torch.as_tensor(cal.prior))
            model.prior_bias.copy_(torch.as_tensor(cal.bias))
        return model

    def model_info(self, model: MusicnnGenre, genres: list[str], run: Run) -> ModelInfo:
        from train.convert_musicnn import MUSICNN_NOTICE
        cfg, pool, items = self.cfg, run.pool, run.extraction.items
        return ModelInfo(
            arch="musicnn-head", arch_params={"n_genres": len(genres), "bank_size": len(model.head.bank),
                                              "layer": cfg.layer, **({"tag_prior": True} if cfg.tag_prior else {})},
            labels=genres, features=self.mel.to_dict(), chunk_seconds=cfg.chunk_seconds, hop_seconds=cfg.hop_seconds,
            metrics=info_metrics(run.main),
            training_data={"fingerprint": run.fingerprint, "n_files": len(items),
                           "n_clips": len({it.clip.clip_id for it in items}),
                           "roots": [Path(d).name for d in cfg.data], "mic_copies": cfg.mic_copies,
                           "room_copies": cfg.room_copies, "l2": cfg.l2, "excluded": pool.notes.get("excluded", {})},
            judgement=run.main["rules"].to_dict(),
            description=f"Frozen MSD_musicnn (PyTorch port), head on its {cfg.layer} layer, trained with simulated "
                        "room recordings; calibrated, with a recording-quality layer.",
            licences=[MUSICNN_NOTICE], code_version=__version__)

    def report_extra(self, run: Run) -> dict:
        from train.convert_musicnn import MUSICNN_NOTICE
        return {"licence": "The backbone weights are converted from musicnn, distributed under the ISC licence:\n\n> "
                           + MUSICNN_NOTICE}

    def write_extra(self, out: ModelDir, run: Run) -> dict:
        backbone, _ = run.final.model
        teach_base(run.extraction.items, run.pool, self.cfg, self.variants, backbone).save(out.file(TEACH_BASE_FILE))
        return {}


def teach_base(items: list[Item], pool: Pool, cfg: RunConfig, variants: list[str], backbone: MusiCNN) -> BaseData:
    """The rows the final head trained on (every chunk of every file, clean and in its simulated
    rooms), shipped beside the model for the Teach page (genre_model.teach) and the tests."""
    x, rows = [], []
    for f, group in zip(items, pool.groups):
        for v in variants:
            e = layer_from_pooled(backbone, f.data[v], cfg.layer)
            x.append(e)
            rows += [(f.clip.label, f.clip.clip_id, f.clip.relpath, v, group)] * len(e)
    columns = [np.array(c) for c in zip(*rows)]
    return BaseData(np.concatenate(x), *columns)
