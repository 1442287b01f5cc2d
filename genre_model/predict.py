"""Classifier: audio -> Prediction (per-chunk genre probabilities with times, clip verdict)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .audio import DEFAULT_MAX_SECONDS, DEFAULT_MIN_SECONDS, AudioClip, Source, load_audio
from .checkpoint import load_checkpoint, resolve_model_dir
from .chunking import chunk_spans, cut_chunks
from .features import model_input
from .judgement import Evidence, Judgement, Rules, assess
from .tags import HEARS_K, top_tags

AGGREGATES = ("mean", "vote")


@dataclass
class Prediction:
    """The result for one clip.

    ``probabilities``: ``np.ndarray [shape=(n_chunks, n_genres)]``, calibrated softmax per chunk;
    ``starts``/``ends``: ``np.ndarray [shape=(n_chunks,)]`` in seconds; ``novelty``:
    ``np.ndarray [shape=(n_chunks,)]``, distance from the training data (1.0 = as far as the
    rarest 1% of training chunks); ``no_music``, ``not_music`` and ``snr_db``: ``[n_chunks]``, the
    quality layer's probabilities that a chunk holds only a room (talk, crowd, clatter) or a sound
    unlike music (a tone, noise), and its music-to-noise estimate (NaN when the model has no
    quality layer). ``rules`` are the model's limits for the "cannot judge" signals. ``tags``:
    ``[n_chunks, 50]`` probabilities of the backbone's Million Song Dataset tags (None for models
    without them); ``heard``: the clip's top tags when read back from JSON, which has no chunk tags.
    """

    labels: list[str]
    starts: np.ndarray
    ends: np.ndarray
    probabilities: np.ndarray
    novelty: np.ndarray
    duration: float
    model: str = ""
    warnings: list[str] = field(default_factory=list)
    no_music: np.ndarray | None = None
    snr_db: np.ndarray | None = None
    rules: Rules = field(default_factory=Rules)
    not_music: np.ndarray | None = None
    tags: np.ndarray | None = None
    heard: list[dict] | None = None

    def __post_init__(self):
        for name in ("no_music", "not_music", "snr_db"):
            if getattr(self, name) is None:
                setattr(self, name, np.full(len(self.starts), np.nan, dtype=np.float32))

    def scores(self, aggregate: str = "mean") -> np.ndarray:
        """Clip-level score per genre, ``[n_genres]``: mean probability, or the fraction of chunks
        voting for each genre (``aggregate="vote"``)."""
        if aggregate == "mean":
            return self.probabilities.mean(axis=0)
        if aggregate == "vote":
            votes = np.bincount(self.probabilities.argmax(axis=1), minlength=len(self.labels))
            return votes / votes.sum()
        raise ValueError(f"aggregate must be one of {AGGREGATES}, not {aggregate!r}")

    def genre(self, aggregate: str = "mean") -> str:
        """The verdict. A tied vote goes to the tied genre with the higher mean probability."""
        return self.judgement(aggregate).genre

    def top_k(self, k: int = 3, aggregate: str = "mean") -> list[tuple[str, float]]:
        scores = self.scores(aggregate)
        order = np.argsort(-(scores + self.probabilities.mean(axis=0) * 1e-6), kind="stable")[:k]
        return [(self.labels[i], float(scores[i])) for i in order]

    def hears(self, k: int = HEARS_K) -> list[dict]:
        """The clip's ``k`` most likely tags, best first (``[]`` when the model has no tag layer)."""
        if self.tags is not None and len(self.tags):
            return top_tags(self.tags.mean(axis=0), k)
        return list(self.heard or [])[:k]

    @property
    def chunk_genres(self) -> list[str]:
        return [self.labels[i] for i in self.probabilities.argmax(axis=1)]

    def quality(self) -> dict:
        """Clip-level recording quality: median probabilities of "only a room" and "not music",
        and the median SNR estimate (None when the model cannot tell)."""
        def median(a):
            return None if a is None or np.isnan(a).all() else round(float(np.nanmedian(a)), 3)
        return {"no_music": median(self.no_music), "not_music": median(self.not_music), "snr_db": median(self.snr_db)}

    def evidence(self, aggregate: str = "mean") -> Evidence:
        """The clip's scores and quality values (medians over chunks), as the judgement reads them."""
        q = {k: np.nan if v is None else v for k, v in self.quality().items()}
        return Evidence(self.scores(aggregate), novelty=float(np.median(self.novelty)), no_music=q["no_music"],
                        not_music=q["not_music"], snr_db=q["snr_db"], seconds=self.duration,
                        tiebreak=self.probabilities.mean(axis=0) if aggregate == "vote" else None)

    def judgement(self, aggregate: str = "mean") -> Judgement:
        """The verdict, the "cannot judge" signals and the advice (see :mod:`genre_model.judgement`)."""
        return assess(self.labels, self.evidence(aggregate), self.rules)

    def flags(self, aggregate: str = "mean") -> dict[str, bool]:
        return self.judgement(aggregate).flags

    def advice(self, aggregate: str = "mean") -> list[str]:
        """Plain messages for the signals that fire, most important first."""
        return self.judgement(aggregate).advice

    def to_dict(self, aggregate: str = "mean") -> dict:
        scores = self.scores(aggregate)
        judgement = self.judgement(aggregate)
        flags = judgement.flags
        quality = self.quality() | {"status": judgement.status}
        return {
            "genre": judgement.genre,
            "aggregate": aggregate,
            "probabilities": {g: round(float(p), 6) for g, p in zip(self.labels, scores)},
            "top3": [{"genre": g, "score": round(s, 6)} for g, s in self.top_k(3, aggregate)],
            "duration": round(self.duration, 3),
            "model": self.model,
            "unsure": flags["unsure"],
            "unfamiliar": flags["unfamiliar"],
            "quality": quality,
            "judged": not flags["any"],
            "hears": self.hears(),
            "rules": self.rules.to_dict(),
            "warnings": judgement.advice + list(self.warnings),
            "chunks": [
                {"start": round(float(s), 3), "end": round(float(e), 3), "genre": self.labels[int(np.argmax(p))],
                 "novelty": round(float(n), 4),
                 **({} if np.isnan(q) else {"no_music": round(float(q), 4), "not_music": round(float(m), 4),
                                            "snr_db": round(float(r), 2)}),
                 "probabilities": {g: round(float(v), 6) for g, v in zip(self.labels, p)}}
                for s, e, p, n, q, m, r in zip(self.starts, self.ends, self.probabilities, self.novelty, self.no_music,
                                               self.not_music, self.snr_db)
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Prediction":
        chunks = data["chunks"]
        labels = list(data["probabilities"])
        return cls(
            labels=labels,
            starts=np.array([c["start"] for c in chunks], dtype=np.float64),
            ends=np.array([c["end"] for c in chunks], dtype=np.float64),
            probabilities=np.array([[c["probabilities"][g] for g in labels] for c in chunks], dtype=np.float32),
            novelty=np.array([c.get("novelty", 0.0) for c in chunks], dtype=np.float32),
            duration=float(data["duration"]), model=data.get("model", ""), warnings=list(data.get("warnings", [])),
            no_music=np.array([c.get("no_music", np.nan) for c in chunks], dtype=np.float32),
            not_music=np.array([c.get("not_music", np.nan) for c in chunks], dtype=np.float32),
            snr_db=np.array([c.get("snr_db", np.nan) for c in chunks], dtype=np.float32),
            rules=Rules.from_dict(data.get("rules")), heard=data.get("hears"),
        )


def default_device() -> torch.device:
    """``GENRE_MODEL_DEVICE`` if set, else CUDA when available, else CPU."""
    name = os.environ.get("GENRE_MODEL_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Classifier:
    """A loaded model. Create once and reuse; ``predict`` may be called from several threads."""

    def __init__(self, model: str | os.PathLike = "default", *, device: str | torch.device | None = None,
                 batch_size: int = 4):
        self.model_dir = resolve_model_dir(model)
        self.device = torch.device(device) if device is not None else default_device()
        self.model, self.info = load_checkpoint(self.model_dir, device=self.device)
        self.name = self.model_dir.name
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one forward pass at a time: bounded memory, no CPU oversubscription

    @property
    def labels(self) -> list[str]:
        return list(self.info.labels)

    @property
    def sample_rate(self) -> int:
        return self.info.sample_rate

    def load(self, source: Source, *, min_seconds: float = DEFAULT_MIN_SECONDS,
             max_seconds: float = DEFAULT_MAX_SECONDS) -> AudioClip:
        """Decode ``source`` at this model's sample rate (see :func:`genre_model.audio.load_audio`)."""
        return load_audio(source, sample_rate=self.sample_rate, min_seconds=min_seconds, max_seconds=max_seconds)

    def predict(self, audio: AudioClip | Source, *, chunk_seconds: float | None = None,
                hop_seconds: float | None = None,
                progress: Callable[[int, int], None] | None = None) -> Prediction:
        """Classify ``audio`` (an :class:`AudioClip` or anything :meth:`load` accepts).

        Chunks default to the model's own length and hop. ``progress(done, total)`` is called
        after each batch of chunks, for progress bars on long files.
        """
        clip = audio if isinstance(audio, AudioClip) else self.load(audio)
        if clip.sample_rate != self.sample_rate:
            raise ValueError(f"audio is at {clip.sample_rate} Hz; this model needs {self.sample_rate} Hz")
        spans = chunk_spans(len(clip.samples), sample_rate=clip.sample_rate,
                            chunk_seconds=chunk_seconds or self.info.chunk_seconds,
                            hop_seconds=hop_seconds or self.info.hop_seconds)
        parts: dict[str, list[np.ndarray]] = {}
        for first in range(0, len(spans), self.batch_size):
            batch = cut_chunks(clip.samples, spans, slice(first, first + self.batch_size))
            for key, value in self.predict_chunks(model_input(self.info.features, batch, self.device)).items():
                parts.setdefault(key, []).append(value)
            if progress:
                progress(min(first + self.batch_size, len(spans)), len(spans))
        out = {key: np.concatenate(values) for key, values in parts.items()}
        return Prediction(
            labels=self.labels, starts=spans.start_times, ends=spans.end_times,
            probabilities=out["probabilities"], novelty=out["novelty"], no_music=out["no_music"],
            not_music=out["not_music"], snr_db=out["snr_db"], tags=out.get("tags"),
            duration=clip.duration, model=self.name, warnings=list(clip.warnings), rules=self.rules,
        )

    @property
    def rules(self) -> Rules:
        return Rules.from_dict(self.info.judgement)

    @torch.inference_mode()
    def predict_chunks(self, features: torch.Tensor) -> dict[str, np.ndarray]:
        """Model features of a batch of chunks -> ``probabilities [B, n_genres]`` (calibrated),
        ``novelty``, ``no_music``, ``not_music`` and ``snr_db`` ``[B]``, and for musicnn models
        ``tags [B, 50]``."""
        with self._lock:
            with torch.autocast(device_type=self.device.type, enabled=self.device.type == "cuda"):
                out = self.model.judge(features.to(self.device))
            out["probabilities"] = torch.softmax(out.pop("logits").float(), dim=1)
        return {k: v.float().cpu().numpy() for k, v in out.items()}
