"""The evaluation report of a model directory (``eval_report.json``) as typed records.

Training writes it (train/evaluation.py measures, train/recipe.py assembles), the Teach page writes
a class model's, and the app's Explore and Compare pages read typed fields from it. Every record
round-trips exactly: ``Record.from_dict(d).to_dict() == d``. Keys a record does not name are kept
in its ``extra`` (older or newer reports still load, and nothing is lost when one is rewritten);
optional fields left at ``None`` are not written.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field

from .judgement import Rules

# The listening conditions every held-out clip is scored in (made by train/variants.py), with the
# words the model card and the app use for them.
EVAL_ROOM_BANDS = ((0, 5), (5, 10), (10, 15))
ROOM_CONDITIONS = tuple(f"eval-room-{a}-{b}" for a, b in EVAL_ROOM_BANDS)
EVAL_CONDITIONS = {
    "clean": "clean audio",
    **{f"eval-room-{a}-{b}": f"noisy classroom, {a}-{b} dB SNR" for a, b in EVAL_ROOM_BANDS},
    "eval-mic": "room recording, 5-30 dB SNR",
    "reference": "fixed reference recording (RT60 0.5 s, 150 Hz-7 kHz, pink noise 20 dB)",
}
CONDITION_NAMES = {"clean": "clean", **{f"eval-room-{a}-{b}": f"noisy room {a}-{b} dB" for a, b in EVAL_ROOM_BANDS},
                   "eval-mic": "room recording", "reference": "reference recording"}
NOISY_ROOM = "noisy_room"   # all room conditions together


def _load(tp, value):
    """``value`` (parsed JSON) as type ``tp``: records and Rules by their from_dict, containers item by item."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _load(inner[0], value) if len(inner) == 1 else value
    if origin is dict:
        _, item = typing.get_args(tp)
        return {k: _load(item, v) for k, v in value.items()}
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_load(item, v) for v in value]
    if isinstance(tp, type) and hasattr(tp, "from_dict"):
        return tp.from_dict(value)
    return value


def _dump(value):
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


class Record:
    """to_dict/from_dict for the report's dataclasses (see the module docstring)."""

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or (value is None and f.default is None):
                continue
            out[f.name] = _dump(value)
        return out | self.extra

    @classmethod
    def from_dict(cls, data: dict):
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: _load(hints[k], v) for k, v in data.items() if k in names},
                   extra={k: v for k, v in data.items() if k not in names})


@dataclass
class GenreMetrics(Record):
    precision: float
    recall: float
    f1: float
    support: int
    recall_ci95: list[float] | None = None         # absent in reports written before it was measured
    extra: dict = field(default_factory=dict)


@dataclass
class Metrics(Record):
    """Classification metrics over files (genre_model.metrics.classification_report), and how often
    the "cannot judge" signals fired (absent where nothing was judged)."""

    n: int
    accuracy: float
    accuracy_ci95: list[float]
    macro_f1: float
    per_genre: dict[str, GenreMetrics] | None = None
    confusion: list[list[int]] | None = None
    flagged: float | None = None
    confidently_wrong: float | None = None
    extra: dict = field(default_factory=dict)     # flag_unsure, flag_unfamiliar, ... per signal


@dataclass
class Results:
    """A report's ``metrics``: per listening condition (``clean``, the rooms, ``noisy_room``...; a
    class model has ``before`` and ``after``), per data folder, and per chunk."""

    conditions: dict[str, Metrics] = field(default_factory=dict)
    by_source: dict[str, Metrics] = field(default_factory=dict)
    chunks_clean: Metrics | None = None

    def get(self, condition: str) -> Metrics | None:
        return self.conditions.get(condition)

    @property
    def clean(self) -> Metrics | None:
        return self.conditions.get("clean")


    def to_dict(self) -> dict:
        out = {k: m.to_dict() for k, m in self.conditions.items()}
        if self.by_source:
            out["by_source"] = {k: m.to_dict() for k, m in self.by_source.items()}
        if self.chunks_clean is not None:
            out["chunks_clean"] = self.chunks_clean.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Results":
        return cls(conditions={k: Metrics.from_dict(v) for k, v in data.items() if k not in ("by_source", "chunks_clean")},
                   by_source={k: Metrics.from_dict(v) for k, v in data.get("by_source", {}).items()},
                   chunks_clean=Metrics.from_dict(data["chunks_clean"]) if "chunks_clean" in data else None)


@dataclass
class HeardAs(Record):
    """A clip's verdict in one listening condition."""

    predicted: str
    probabilities: list[float]
    flags: dict[str, bool] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)      # novelty, quality values, the conditions drawn

    @property
    def confidence(self) -> float:
        return round(max(self.probabilities), 4)


@dataclass
class ClipRecord(Record):
    """One held-out file: its label, its clean verdict (with its chunks) and its verdict in every
    other listening condition."""

    path: str
    label: str
    predicted: str
    confidence: float
    probabilities: list[float] | None = None
    chunks: list[dict] | None = None               # {start, end, probabilities}
    flags: dict[str, bool] | None = None
    conditions: dict[str, HeardAs] | None = None
    artist: str | None = None
    name: str | None = None
    hears: list[dict] | None = None                # the backbone's top tags (genre_model.tags), musicnn models
    extra: dict = field(default_factory=dict)      # clip_id, source, side, fold, duration, quality values...

    @property
    def title(self) -> str:
        return self.name or self.path

    def heard_in(self, condition: str) -> "ClipRecord":
        """The clip as heard in ``condition`` (its verdict there), for the explorer's lists."""
        if condition == "clean" or condition not in (self.conditions or {}):
            return self
        v = self.conditions[condition]
        return dataclasses.replace(self, predicted=v.predicted, probabilities=v.probabilities,
                                   confidence=v.confidence, flags=v.flags)


@dataclass
class Evaluation(Record):
    """One evaluation protocol (artist-grouped k-fold, the artist-filtered split, the optimistic
    same-artist k-fold): how it was done and what it measured."""

    description: str
    metrics: Results
    calibration: dict | None = None
    rules: Rules | None = None
    risk_coverage: dict | None = None              # {"short"|"long": {n, curve: [{unsure_below, coverage, risk}]}}
    extra: dict = field(default_factory=dict)      # rules_table: the trade-off the rules were chosen from


@dataclass
class Calibration(Record):
    temperature: float
    ece: dict = field(default_factory=dict)        # {"before"|"after": {"clip_ece", "chunk_ece"}}
    per_fold: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def clip_ece_after(self) -> float | None:
        return self.ece.get("after", {}).get("clip_ece")


@dataclass
class JudgementReport(Record):
    rules: Rules
    calibration: Calibration | None = None
    background_eval: dict | None = None            # music-free recordings: how often each signal fired
    extra: dict = field(default_factory=dict)


@dataclass
class EvalReport(Record):
    """Everything a training run (or the Teach page) measured about a model."""

    model: str
    arch: str
    labels: list[str]
    split: str
    metrics: Results
    clips: list[ClipRecord] = field(default_factory=list)
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    judgement: JudgementReport | None = None
    kind: str | None = None                        # "class model" for a Teach page model
    seed: int | None = None
    recipe: dict | None = None
    data_root: str | None = None
    command: str | None = None
    cpu_seconds_per_30s_clip: float | None = None
    curves: dict | None = None
    timings_s: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_class_model(self) -> bool:
        return self.kind == "class model"


def genre_recalls(m: Metrics, labels: list[str]) -> list[dict]:
    """Per genre: recall with its 95% interval and the number of files (from the confusion matrix,
    so reports written before the interval was stored show it too)."""
    from .metrics import recall_interval
    rows = []
    for i, g in enumerate(labels):
        n = int(sum(m.confusion[i]))
        rows.append({"genre": g, "recall": m.confusion[i][i] / n if n else 0.0,
                     "recall_ci95": recall_interval(m.confusion, i), "files": n})
    return rows
