"""Analyse an input once: decode, classify and keep the result in a process-wide LRU cache keyed
by (content hash, model, chunk, hop). Changing the aggregation or the display recomputes nothing;
changing chunk or hop re-runs only the model on the already decoded audio."""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import soundfile as sf

from genre_model.audio import AudioClip
from genre_model.predict import Classifier, Prediction

_AUDIO_BUDGET_BYTES = 32 * 1024 * 1024  # decoded audio kept across reruns and sessions (~8 min at 16 kHz)


@dataclass
class Analysis:
    name: str
    sha: str
    clip: AudioClip
    prediction: Prediction


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _LRU:
    def __init__(self, budget: int):
        self.budget = budget
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value, size: int):
        with self.lock:
            self.items[key] = (value, size)
            self.items.move_to_end(key)
            while sum(s for _, s in self.items.values()) > self.budget and len(self.items) > 1:
                self.items.popitem(last=False)


_clips = _LRU(_AUDIO_BUDGET_BYTES)
_predictions = _LRU(64)  # counted in entries (each is small)
stats = {"decodes": 0, "predictions": 0}


def decode(clf: Classifier, data: bytes, *, max_seconds: float) -> tuple[str, AudioClip]:
    """Decoded audio for ``data`` (cached by content). Raises AudioError for unusable input."""
    sha = content_hash(data)
    key = (sha, clf.sample_rate, max_seconds)
    hit = _clips.get(key)
    if hit:
        return sha, hit[0]
    clip = clf.load(data, max_seconds=max_seconds)
    stats["decodes"] += 1
    _clips.put(key, clip, clip.samples.nbytes)
    return sha, clip


def analyse(clf: Classifier, name: str, data: bytes, *, chunk_seconds: float, hop_seconds: float,
            max_seconds: float, progress: Callable[[int, int], None] | None = None) -> Analysis:
    sha, clip = decode(clf, data, max_seconds=max_seconds)
    key = (sha, str(clf.model_dir), chunk_seconds, hop_seconds)
    hit = _predictions.get(key)
    if hit:
        return Analysis(name, sha, clip, hit[0])
    pred = clf.predict(clip, chunk_seconds=chunk_seconds, hop_seconds=hop_seconds, progress=progress)
    stats["predictions"] += 1
    _predictions.put(key, pred, 1)
    return Analysis(name, sha, clip, pred)


def segment_wav(clip: AudioClip, start: float, end: float) -> bytes:
    """WAV bytes of exactly ``[start, end)`` seconds of the decoded audio."""
    a, b = int(start * clip.sample_rate), int(end * clip.sample_rate)
    buf = io.BytesIO()
    sf.write(buf, clip.samples[a:b], clip.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def prediction_csv(pred: Prediction) -> str:
    rows = ["start,end,top_genre," + ",".join(pred.labels)]
    for s, e, g, p in zip(pred.starts, pred.ends, pred.chunk_genres, pred.probabilities):
        rows.append(f"{s:.3f},{e:.3f},{g}," + ",".join(f"{v:.5f}" for v in p))
    return "\n".join(rows) + "\n"
