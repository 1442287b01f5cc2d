"""Fitting a class model: the Teach page's head, trained on the base model's training rows plus a
class's own clips (any labels, new genres included), cross-validated on those clips.

- The base model ships its training rows (``teach_base.npz``: the embedding of every training chunk,
  clean and in simulated rooms, with labels, clip ids and SNRs), so no dataset is needed.
- :func:`teach` fits the head on base and class rows (every clip counts the same within its label,
  a class clip :data:`CLASS_CLIP_WEIGHT` times a base clip, every label the same), scores the class's
  clips by cross-validation next to the base model, and returns a model that is an ordinary
  checkpoint: calibrated, with the base model's quality layer and "cannot judge" rules.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..checkpoint import ModelInfo
from ..errors import GenreModelError
from ..folds import stratified_folds
from ..fitting import clip_weights, fit_head, fit_temperature, softmax
from ..metrics import classification_report
from ..model_dir import TEACH_BASE_FILE
from ..models.musicnn import MusicnnGenre
from ..report import EvalReport
from .embed import ClassClip

TEACH_VARIANTS = ("clean", "mic0", "room0")
CLASS_CLIP_WEIGHT = 3.0   # a class's own clip counts as this many base clips of its label
MIN_CLIPS_PER_LABEL = 3
MAX_LABEL_LENGTH = 30
OWN_MUSIC_MARGIN = 1.1  # a class clip a little further from the rest than any held-out one is still its music
_LABEL = re.compile(r"^[\w][\w \-'&+.]*$")


class TeachError(GenreModelError):
    """Something about the class's clips or labels prevents training; the message says what to do."""


@dataclass
class BaseData:
    """The base model's training rows: ``x [N, D]`` embeddings of every training chunk, clean and
    in its simulated rooms, with per row the ``labels``, ``clips`` (GTZAN ids), ``files`` (relative
    paths), ``variants`` ("clean", "mic0", "room0", ...) and artist ``groups``. The Teach page
    trains on all of them; the tests recompute the shipped model's held-out accuracy from them."""

    x: np.ndarray
    labels: np.ndarray
    clips: np.ndarray
    files: np.ndarray
    variants: np.ndarray
    groups: np.ndarray

    def save(self, path: Path) -> None:
        np.savez_compressed(path, x=self.x.astype(np.float16), **{k: getattr(self, k).astype(str) for k in
                                                                  ("labels", "clips", "files", "variants", "groups")})

    def for_teaching(self) -> "BaseData":
        """The rows a class model trains on: every other chunk of each file, clean and in one fair and
        one noisy room (about a quarter of the rows, which keeps training within seconds)."""
        keep = np.isin(self.variants, TEACH_VARIANTS)
        run_start = np.r_[True, (self.files[1:] != self.files[:-1]) | (self.variants[1:] != self.variants[:-1])]
        index_in_run = np.arange(len(self.x)) - np.maximum.accumulate(np.where(run_start, np.arange(len(self.x)), 0))
        keep &= index_in_run % 2 == 0
        return BaseData(*(getattr(self, k)[keep] for k in ("x", "labels", "clips", "files", "variants", "groups")))


def load_base(model_dir: Path) -> BaseData:
    path = Path(model_dir) / TEACH_BASE_FILE
    if not path.is_file():
        raise TeachError(f"The model in {model_dir} has no {TEACH_BASE_FILE} (its training data), so it cannot be "
                         "taught new clips. Use the default model as the base.")
    with np.load(path) as d:
        return BaseData(d["x"].astype(np.float32), d["labels"], d["clips"], d["files"], d["variants"], d["groups"])


def check_label(label: str, *, reserved: set[str] = frozenset()) -> str:
    """The label, trimmed, or TeachError saying what is wrong with it."""
    text = (label or "").strip()
    if not text:
        raise TeachError("The label is empty: type a genre name, e.g. “k-pop” or “school band”.")
    if len(text) > MAX_LABEL_LENGTH:
        raise TeachError(f"“{text[:40]}…” is too long: use at most {MAX_LABEL_LENGTH} characters.")
    if not _LABEL.match(text) or text in {".", ".."}:
        raise TeachError(f"“{text}” cannot be a label: use letters, digits, spaces and - ' & + . only "
                         "(it also names a folder when the clips are exported).")
    lowered = {r.casefold(): r for r in reserved}
    if text.casefold() in lowered and lowered[text.casefold()] != text:
        raise TeachError(f"“{text}” clashes with the existing label “{lowered[text.casefold()]}”: use exactly that "
                         "spelling or another name.")
    return text


def check_clips(clips: list[ClassClip]) -> None:
    """Refuse, with what to do, a set of class clips that cannot train a model."""
    if not clips:
        raise TeachError("There are no clips to learn from yet: record or upload a few clips and give each a label.")
    seen: dict[str, str] = {}
    for c in clips:
        if c.key in seen:
            raise TeachError(f"“{c.name}” is the same audio as “{seen[c.key]}”: remove one of them.")
        seen[c.key] = c.name
    counts = {l: sum(c.label == l for c in clips) for l in sorted({c.label for c in clips})}
    few = {l: n for l, n in counts.items() if n < MIN_CLIPS_PER_LABEL}
    if few:
        raise TeachError("Each label needs at least 3 clips: " + ", ".join(
            f"“{l}” has {n}" for l, n in few.items()) + ". Add clips or remove the label.")


@dataclass
class TeachResult:
    model: MusicnnGenre
    info: ModelInfo
    report: EvalReport

    @property
    def new_labels(self) -> list[str]:
        return self.report.extra["new_labels"]

    @property
    def changed(self) -> list[dict]:
        """The class clips whose verdict the class model changed."""
        return self.report.extra["changed"]


def _fit(base: BaseData, clips: list[ClassClip], labels: list[str], *, l2: float, seed: int):
    x = [base.x] + [a for c in clips for a in [c.clean] + c.copies]
    row_labels = list(base.labels) + [c.label for c in clips for a in [c.clean] + c.copies for _ in range(len(a))]
    row_clips = list(base.clips) + [f"class:{c.key}" for c in clips for a in [c.clean] + c.copies for _ in range(len(a))]
    x = np.concatenate(x)
    w = clip_weights(row_labels, row_clips)
    w[len(base.x):] *= CLASS_CLIP_WEIGHT
    y = np.array([labels.index(l) for l in row_labels])
    head = fit_head(x, y, len(labels), weights=w, groups=np.array(row_clips), l2=l2, seed=seed)
    return head


@torch.inference_mode()
def _logits(head, emb: np.ndarray) -> np.ndarray:
    return head(torch.as_tensor(emb)).numpy()


@torch.inference_mode()
def _base_logits(base_model: MusicnnGenre, emb: np.ndarray) -> np.ndarray:
    """The base model's calibrated logits (its tag prior included) of stored embeddings."""
    if base_model.layer != "penultimate":
        return _logits(base_model.head, emb)
    return base_model.logits_from_penultimate(torch.as_tensor(emb)).numpy()


def teach(base_model: MusicnnGenre, base_info: ModelInfo, base: BaseData, clips: list[ClassClip], *, seed: int = 0,
          folds: int = 5, name: str = "class model") -> TeachResult:
    """Fit and evaluate a class model (see the module docstring). Raises TeachError for clips that
    cannot train one."""
    started = time.perf_counter()
    check_clips(clips)
    clips = sorted(clips, key=lambda c: (c.label, c.key))  # the same model whatever order the clips came in
    base = base.for_teaching()
    labels = sorted(set(base.labels.tolist()) | {c.label for c in clips})
    l2 = float(base_info.training_data.get("l2", 1e-2))
    k = max(2, min(folds, min(sum(c.label == l for c in clips) for l in {c.label for c in clips})))
    fold_of = stratified_folds([c.label for c in clips], k, seed)
    base_head = base_model.head
    rows, held_logits, held_y, own_music = [], [], [], []
    for f in range(k):
        head = _fit(base, [c for c, g in zip(clips, fold_of) if g != f], labels, l2=l2, seed=seed)
        for c, g in zip(clips, fold_of):
            if g != f:
                continue
            logits = _logits(head, c.clean)
            held_logits.append(logits)
            own_music.append(_own_music_evidence(head, base_head, c.clean))
            held_y += [labels.index(c.label)] * len(logits)
            before = softmax(_base_logits(base_model, c.clean)).mean(axis=0)  # the base model, calibrated
            rows.append({"name": c.name, "key": c.key, "label": c.label, "fold": int(f),
                         "before": base_info.labels[int(before.argmax())],
                         "before_confidence": round(float(before.max()), 4), "logits": logits})
    held = np.concatenate(held_logits)
    temperature = fit_temperature(held, np.array(held_y)) if len(held) >= 30 else float(base_head.temperature)
    for r in rows:
        p = softmax(r.pop("logits"), temperature).mean(axis=0)
        r["after"], r["after_confidence"] = labels[int(p.argmax())], round(float(p.max()), 4)
    final = _fit(base, clips, labels, l2=l2, seed=seed)
    final.temperature.fill_(temperature)
    _copy_quality(base_head, final)
    model = MusicnnGenre(n_genres=len(labels), bank_size=len(final.bank), layer=base_model.layer,
                         tag_prior=base_model.tag_prior)
    model.backbone.load_state_dict(base_model.backbone.state_dict())
    model.head.load_state_dict(final.state_dict())
    if base_model.tag_prior:  # the base model's tag weights for its genres; a new label has none
        from ..tags import tag_matrix
        weights = dict(zip(base_info.labels, zip(base_model.prior_weight.tolist(), base_model.prior_bias.tolist())))
        model.prior_map.copy_(torch.as_tensor(tag_matrix(labels)))
        model.prior_weight.copy_(torch.tensor([weights.get(label, (0.0, 0.0))[0] for label in labels]))
        model.prior_bias.copy_(torch.tensor([weights.get(label, (0.0, 0.0))[1] for label in labels]))
    model.eval()
    report = EvalReport.from_dict(_report(rows, labels, base_info, clips, name, k, seed, temperature,
                                          time.perf_counter() - started))
    after = report.metrics.get("after")
    info = ModelInfo(
        arch="musicnn-head", arch_params={"n_genres": len(labels), "bank_size": len(final.bank), "layer": model.layer},
        labels=labels, features=base_info.features, chunk_seconds=base_info.chunk_seconds,
        hop_seconds=base_info.hop_seconds,
        metrics={"split": report.split, "accuracy_clean": after.accuracy, "accuracy_clean_ci95": after.accuracy_ci95,
                 "macro_f1_clean": after.macro_f1, "n_clips": len(clips)},
        training_data={"base_model": base_info.training_data.get("fingerprint"), "l2": l2,
                       "class_clips": [{"name": c.name, "label": c.label, "sha256": c.key} for c in clips],
                       "n_class_clips": len(clips), "seed": seed, "class_model": True},
        judgement=own_music_rules(base_info.judgement, own_music),
        description=f"Class model “{name}”: the default model's backbone and training data plus {len(clips)} clips "
                    "taught on the Teach page.",
        licences=list(base_info.licences), code_version=__version__,
    )
    return TeachResult(model, info, report)


@torch.no_grad()
@torch.inference_mode()
def _own_music_evidence(fold_head, base_head, emb: np.ndarray) -> tuple[float, float]:
    """A held-out class clip's median novelty (against a bank without it) and "unlike music" score."""
    x = torch.as_tensor(emb)
    return float(fold_head.novelty(x).median()), float(base_head.judge(x)["not_music"].median())


def own_music_rules(base_rules: dict, own_music: list[tuple[float, float]]) -> dict:
    """The base model's "cannot judge" rules, with the "unlike the training music" limits set by the
    class's own held-out clips, so that the model made to recognise the class's kind of music does
    not call it unfamiliar. Limits are never lowered.

    - novelty: just above the farthest held-out class clip (its bank holds the class's clips);
    - "unlike music": the quality layer learned tones and noise as not music, and scores a chiptune
      or a class's tone-like clips as such (1.0, like a sine). When a held-out class clip would be
      flagged, this signal is off for the class model: the class said such sounds are music, and
      the novelty limit still flags sounds far from everything it learned."""
    rules = dict(base_rules)
    novelty = [n for n, _ in own_music if math.isfinite(n)]
    not_music = [m for _, m in own_music if math.isfinite(m)]
    if novelty and "novelty_limit" in rules:
        rules["novelty_limit"] = round(max(rules["novelty_limit"], OWN_MUSIC_MARGIN * max(novelty)), 4)
    if not_music and "not_music_above" in rules and max(not_music) > rules["not_music_above"]:
        rules["not_music_above"] = 1.0  # a probability is never above 1: the signal never fires
    return rules


def _copy_quality(base_head, head) -> None:
    """The base model's quality layer, re-expressed for the new head's standardisation (exactly the
    same function of the embedding)."""
    w, b = base_head.quality.weight, base_head.quality.bias
    scale = head.std / base_head.std
    head.quality.weight.copy_(w * scale)
    head.quality.bias.copy_(b + (w * (head.mean - base_head.mean) / base_head.std).sum(dim=1))
    head.quality_fitted.copy_(base_head.quality_fitted)


def _report(rows, labels, base_info, clips, name, k, seed, temperature, seconds) -> dict:
    y = [labels.index(r["label"]) for r in rows]
    after = classification_report(y, [labels.index(r["after"]) for r in rows], labels)
    before = classification_report(y, [labels.index(r["before"]) for r in rows], labels)
    new_labels = sorted({c.label for c in clips} - set(base_info.labels))
    return {
        "model": name, "arch": "musicnn-head", "labels": labels, "kind": "class model", "seed": seed,
        "split": f"{k}-fold cross-validation over the class's {len(clips)} clips (each clip's chunks and noisy copies "
                 "on one side); the base model's training data always trains",
        "metrics": {"after": after, "before": before, "clean": after},
        "new_labels": new_labels, "temperature": round(temperature, 4),
        "changed": [r for r in rows if r["before"] != r["after"]],
        "clips": [{"path": f"class:{r['key']}", "name": r["name"], "label": r["label"], "fold": r["fold"],
                   "predicted": r["after"], "confidence": r["after_confidence"], "before": r["before"],
                   "before_confidence": r["before_confidence"], "chunks": []} for r in rows],
        "class_clips": {l: sum(c.label == l for c in clips) for l in sorted({c.label for c in clips})},
        "timings_s": {"train_and_evaluate": round(seconds, 2)},
        "code_version": __version__,
    }
