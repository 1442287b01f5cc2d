"""The one training skeleton every architecture runs through:

    data pool -> features or embeddings -> plans -> fit -> evaluate -> write the model directory

:func:`run` does the sequence; a :class:`Recipe` says how its architecture family extracts
what it learns from and fits a model (train/scratch.py: networks trained from scratch;
train/musicnn_head.py: a head on the frozen musicnn). The evaluation protocol is the same for all
(train/pool.py, train/evaluation.py): artist-grouped k-fold as the headline, the artist-filtered
split beside it, every held-out clip also scored in simulated rooms; the temperature, the quality
layer and the "cannot judge" rules are fitted the same way, so the Compare page compares like with like.
"""

from __future__ import annotations

import platform
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from genre_model import __version__
from genre_model.checkpoint import ModelInfo, save_checkpoint
from genre_model.datasets import LabelledClip
from genre_model.model_dir import ModelDir
from genre_model.report import EVAL_CONDITIONS, EvalReport
from train import distributed
from train.config import RunConfig
from train.data import fingerprint, state_sha256
from train.evaluation import Calibration, Held, background_flags, evaluate_held, for_report
from train.pool import Pool, assert_disjoint, subset
from train.sources import Source, open_source
from train.splits import Plan, Stage
from train.speech import speech_pools


@dataclass
class Item:
    """One file of the pool as a recipe extracted it: per variant (``clean``, training copies, the
    held-out conditions) the chunk features or embeddings ``[n_chunks, ...]`` and what was drawn."""

    clip: LabelledClip
    sha256: str
    starts: np.ndarray
    ends: np.ndarray
    duration: float
    data: dict[str, np.ndarray] = field(default_factory=dict)
    drawn: dict[str, dict] = field(default_factory=dict)


@dataclass
class Extraction:
    items: list[Item]
    kept: list[int]                  # pool indices of the files that could be read
    skipped: list[dict]
    background: dict[str, list[np.ndarray]] = field(default_factory=dict)  # music-free sets (train/variants.py)
    computed: int = 0
    cached: int = 0


@dataclass
class Fitted:
    """A fitted model of one stage: what the recipe needs to score chunks, and its training curve."""

    model: object
    best_epoch: int | None = None
    history: list[dict] | None = None
    last_state: dict | None = None   # the last epoch's weights, when early stopping kept an earlier one


class Recipe(ABC):
    """An architecture family's way through :func:`run`."""

    uses_audio = True   # False: the data is a feature table, no voices or rooms to make

    def __init__(self, cfg: RunConfig, source: Source):
        self.cfg = cfg
        self.source = source

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """The rate the recipe decodes audio at."""

    @abstractmethod
    def recipe_record(self) -> dict:
        """The options that shaped the model, as the report's ``recipe``."""

    @abstractmethod
    def extract(self, pool: Pool, pools: dict) -> Extraction:
        """Features or embeddings of every file of ``pool`` in every variant (cached)."""

    @abstractmethod
    def fit(self, stage: Stage, index: int, items: list[Item], background: dict, epochs: int) -> Fitted:
        """A model fitted on ``stage`` (``index`` seeds it)."""

    @abstractmethod
    def outputs(self, fitted: Fitted, x: np.ndarray) -> dict[str, np.ndarray]:
        """Chunk outputs ``{logits, novelty, no_music, not_music, snr_db}`` of features ``x``."""

    @abstractmethod
    def main_plan(self, pool: Pool) -> Plan:
        """The headline evaluation."""

    def other_plans(self, pool: Pool) -> list[tuple[str, Plan, bool]]:
        """(report key, plan, artists kept apart) of the evaluations reported beside the headline."""
        return []

    def final_epochs(self, fits: list[Fitted]) -> int:
        """How long the final fit on every clip trains."""
        return 0

    def tag_matrix(self, genres: list[str]) -> np.ndarray | None:
        """The genre-tag map when the backbone's tags are weighed against the head (else None)."""
        return None

    @abstractmethod
    def model(self, fitted: Fitted, cal: Calibration, genres: list[str]) -> torch.nn.Module:
        """The shipped network, calibrated by ``cal`` (train/evaluation.py)."""

    @abstractmethod
    def model_info(self, model: torch.nn.Module, genres: list[str], run: "Run") -> ModelInfo:
        ...

    def report_extra(self, run: "Run") -> dict:
        return {}

    def write_extra(self, out: ModelDir, run: "Run") -> dict:
        """Write the files beside the weights that only this recipe writes (rank 0, after the
        weights); returns what they add to the report."""
        return {}


@dataclass
class Run:
    """What a run has measured so far; the recipe reads it to describe its model."""

    pool: Pool
    extraction: Extraction
    genres: list[str]
    evaluations: dict[str, dict]
    final: Fitted
    fits: list[Fitted]
    curves: dict
    main_plan: Plan
    timings: dict

    @property
    def main(self) -> dict:
        return next(iter(self.evaluations.values()))

    @property
    def fingerprint(self) -> str:
        items = self.extraction.items
        return fingerprint([it.clip for it in items], {it.clip.relpath: it.sha256 for it in items})


def _held(recipe: Recipe, fitted: Fitted, items: list[Item], indices: list[int], fold) -> list[Held]:
    out = []
    for i in indices:
        it = items[i]
        conditions = [c for c in EVAL_CONDITIONS if c in it.data]
        out.append(Held(index=i, fold=fold, outputs={c: recipe.outputs(fitted, it.data[c]) for c in conditions},
                        conditions={c: it.drawn.get(c, {}) for c in conditions}))
    return out


def evaluate_plan(recipe: Recipe, plan: Plan, pool: Pool, ex: Extraction, genres: list[str], *, first_index: int = 0,
              artists_apart: bool = True, rules=None, main_held: list[Held] | None = None
              ) -> tuple[dict, list[Fitted], dict]:
    """Fit every stage of ``plan`` and evaluate its held-out files; returns the evaluation (its
    held-out outputs under ``"held"``), the fits and their curves. A plan of one stage is calibrated
    on ``main_held`` (the headline's held-out outputs) minus its own scored files."""
    assert_disjoint(pool, plan, artists=artists_apart and pool.grouped_by_artist)
    held, fits, curves = [], [], {}
    for number, stage in enumerate(plan.stages):
        fitted = recipe.fit(stage, first_index + number, ex.items, ex.background, recipe.cfg.epochs)
        held += _held(recipe, fitted, ex.items, stage.test, number if plan.refit_all else stage.name)
        fits.append(fitted)
        if fitted.history is not None:
            curves[stage.name] = fitted.history
    info = [{"starts": it.starts, "ends": it.ends, "duration": it.duration} for it in ex.items]
    scored = {h.index for h in held}
    fit_on = [h for h in main_held if h.index not in scored] if main_held and len(plan.stages) == 1 else None
    result = evaluate_held(plan.description, held, pool, info, genres, rules, recipe.tag_matrix(genres), fit_on)
    return result | {"held": held}, fits, curves


def run(recipe: Recipe, pool: Pool, command: str) -> EvalReport:
    """Train ``recipe`` on ``pool`` and write ``recipe.cfg.out``; returns the evaluation report."""
    cfg = recipe.cfg
    started = time.time()
    out = ModelDir(Path(cfg.out))
    # Rank 0 writes the espeak-ng voices and the cache first; the other ranks then read the very same files.
    pools = distributed.rank0_first(lambda: speech_pools(
        Path(cfg.speech) if cfg.speech else None, Path(cfg.cache), recipe.sample_rate) if recipe.uses_audio else {})
    ex = distributed.rank0_first(lambda: recipe.extract(pool, pools))
    pool = subset(pool, ex.kept)
    genres = sorted({c.label for c in recipe.source.clips})
    if len({it.clip.label for it in ex.items}) < 2:
        raise ValueError("fewer than two labels have readable clips; nothing to learn")
    timings = {"extract": round(time.time() - started, 1)}

    plan = recipe.main_plan(pool)
    main, fits, curves = evaluate_plan(recipe, plan, pool, ex, genres, artists_apart=cfg.split == "kfold")
    evaluations = {"artist_kfold" if plan.refit_all else "holdout": main}
    for key, other, apart in recipe.other_plans(pool):
        evaluations[key], _, other_curves = evaluate_plan(recipe, other, pool, ex, genres, rules=main["rules"],
                                                          first_index=len(plan.stages) + 1, artists_apart=apart,
                                                          main_held=main["held"])
        curves.update(other_curves)
    final = fits[-1]
    if plan.refit_all:  # every clip trains the shipped model
        final = recipe.fit(Stage("final", list(range(len(ex.items))), [], []), len(plan.stages), ex.items,
                           ex.background, recipe.final_epochs(fits))
        if final.history is not None:
            curves["final"] = final.history
        final.last_state = None  # without validation the best epoch is the last
    rules, matrix = main["rules"], recipe.tag_matrix(genres)
    background = {name: background_flags([recipe.outputs(final, x) for x in ex.background.get(key, [])], rules,
                                         main["cal"], matrix)
                  for name, key in (("room_without_music", "eval"), ("not_music", "other-eval"), ("talk", "talk-eval"))}
    model = recipe.model(final, main["cal"], genres)
    timings["train"] = round(time.time() - started - timings["extract"], 1)
    state = Run(pool, ex, genres, evaluations, final, fits, curves, plan, timings)
    info = recipe.model_info(model, genres, state)
    items = ex.items
    report = {
        "model": out.name, "arch": cfg.arch, "labels": genres, "split": plan.description, "seed": cfg.seed,
        "recipe": recipe.recipe_record(), "data_root": str(recipe.source.root), "data": [str(d) for d in cfg.data],
        "artists": cfg.artists, "split_files": cfg.split_files, "speech": cfg.speech,
        "fingerprint": state.fingerprint,
        "pool": {"files": len(items), "clips": len({it.clip.clip_id for it in items}), "groups": len(set(pool.groups)),
                 "by_source": {s: sum(it.clip.source == s for it in items) for s in sorted({it.clip.source for it in items})},
                 **pool.notes},
        "metrics": main["metrics"], "clips": main["records"],
        "evaluations": {k: for_report(v) for k, v in evaluations.items()},
        "judgement": {"rules": rules.to_dict(), "background_eval": background, "calibration": main["calibration"]},
        "skipped": ex.skipped, "n_skipped": len(ex.skipped), "command": command, "code_version": __version__,
        "python": platform.python_version(), "torch": torch.__version__,
        "extracted_sets": {"computed": ex.computed, "cached": ex.cached},
        **recipe.report_extra(state),
    }
    if distributed.world()[1] > 1:
        report["distributed"] = distributed.agreement(model, state_sha256)
    if distributed.rank() == 0:
        save_checkpoint(model, info, out.path)
        report |= recipe.write_extra(out, state)
        from train.speed import cpu_seconds_per_30s_clip
        report["cpu_seconds_per_30s_clip"] = cpu_seconds_per_30s_clip(out.path)
        report["timings_s"] = timings | {"total": round(time.time() - started, 1)}
        typed = EvalReport.from_dict(report)
        out.write_report(typed)
        out.write_card(typed)
    distributed.barrier()
    return EvalReport.from_dict(report)


def start(cfg: RunConfig, command: str) -> EvalReport:
    """Open the data, build the pool and run the recipe of ``cfg.arch``."""
    from genre_model.models import architecture
    from train.pool import build_pool
    source = open_source(cfg.data)
    if architecture(cfg.arch).pretrained:
        from train.musicnn_head import MusicnnHeadRecipe as recipe_class
    else:
        from train.scratch import ScratchRecipe as recipe_class
    recipe = recipe_class(cfg, source)
    pool = build_pool(source.clips, split_dir=cfg.split_files, artists_file=cfg.artists)
    return run(recipe, pool, command)


def info_metrics(evaluation: dict) -> dict:
    """The headline figures a checkpoint's metadata carries (the app's model list shows them)."""
    m = evaluation["metrics"]
    return {"split": evaluation["description"], "accuracy_clean": m["clean"]["accuracy"],
            "accuracy_clean_ci95": m["clean"]["accuracy_ci95"], "macro_f1_clean": m["clean"]["macro_f1"],
            "accuracy_noisy_room": m.get("noisy_room", {}).get("accuracy"),
            "accuracy_reference_mic": m.get("reference_mic", {}).get("accuracy"), "n_clips": m["clean"]["n"]}


def recipe_dict(cfg: RunConfig, keys: tuple[str, ...]) -> dict:
    """The options of ``cfg`` named by ``keys``, as the report's ``recipe`` records them."""
    values = asdict(cfg)
    return {k: values[k] for k in keys}
