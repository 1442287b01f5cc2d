"""When a model should not be trusted, and what to tell the user: the one judgement path.

:func:`assess` turns the evidence for a verdict (genre scores and quality values, of a whole clip
or of a live window) into a :class:`Judgement`: the flags, the headline and the advice. Classify,
the CLI, Live and training's evaluation (where the limits are chosen) all call it.

Four signals, each from the model's own outputs (see :class:`genre_model.predict.Prediction`):

- **no music**: the quality layer hears mostly talk or room noise;
- **too noisy**: the estimated music-to-noise ratio is below the model's limit;
- **unfamiliar**: the audio is unlike the music the model learned from: far from all of it
  (novelty), or heard by the quality layer as a sound that is not music (a tone, noise, beeps),
  or as no music at all;
- **unsure**: the best calibrated genre probability is low, with a stricter limit for audio no
  longer than one chunk (less evidence), and always for audio shorter than the shortest clips
  the limits were chosen on (:attr:`Rules.min_sure_seconds`).

The limits are chosen per model on held-out artists when it is trained, and stored in its checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .models import DEFAULT_CHUNK_SECONDS

FLAG_NAMES = ("no_music", "too_noisy", "unfamiliar", "unsure")


@dataclass(frozen=True)
class Rules:
    unsure_below: float = 0.4
    novelty_limit: float = 0.85
    noisy_snr_below: float | None = None   # None: never call a clip too noisy
    no_music_above: float = 0.5
    not_music_above: float = 0.5
    unsure_below_short: float | None = None   # audio no longer than one chunk (None: as unsure_below)
    short_seconds: float = DEFAULT_CHUNK_SECONDS  # ... "one chunk"
    min_sure_seconds: float = 2.0             # shorter audio is always unsure: nothing this short was measured

    def unsure_limit(self, seconds: float) -> float:
        """The unsure limit for audio of ``seconds`` (NaN: unknown length, the usual limit)."""
        if self.unsure_below_short is not None and not math.isnan(seconds) and seconds <= self.short_seconds:
            return self.unsure_below_short
        return self.unsure_below

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "Rules":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass(frozen=True)
class Evidence:
    """What a verdict rests on: a score per genre (calibrated probabilities, or vote shares) and
    the quality values, each NaN when the model cannot tell."""

    scores: np.ndarray
    novelty: float = math.nan
    no_music: float = math.nan
    not_music: float = math.nan
    snr_db: float = math.nan
    seconds: float = math.nan            # how much audio the scores rest on
    tiebreak: np.ndarray | None = None   # breaks ties between equal scores (a vote: the mean probabilities)

    @property
    def confidence(self) -> float:
        return float(np.max(self.scores))

    @property
    def best(self) -> int:
        scores = np.asarray(self.scores, dtype=np.float64)
        if self.tiebreak is not None:
            scores = scores + np.asarray(self.tiebreak) * 1e-6
        return int(np.argmax(scores))


@dataclass(frozen=True)
class Judgement:
    """The outcome: which signals fire, the genre and its score, and what to tell the user."""

    genre: str
    confidence: float
    flags: dict[str, bool]
    advice: list[str]
    snr_db: float = math.nan

    @property
    def cannot_judge(self) -> str | None:
        """Why no genre should be shown at all ("mostly talk or noise", "too noisy"), or None."""
        if self.flags["no_music"]:
            return "mostly talk or noise"
        if self.flags["too_noisy"]:
            return "too noisy"
        return None

    @property
    def doubtful(self) -> bool:
        """A genre is shown, but dimmed: the model is unsure or the audio is unfamiliar."""
        return self.flags["unsure"] or self.flags["unfamiliar"]

    @property
    def headline(self) -> str:
        """What the big text says: ``Can't judge: too noisy`` or ``ROCK 84%``."""
        why = self.cannot_judge
        return f"Can't judge: {why}" if why else f"{self.genre.upper()} {self.confidence:.0%}"

    @property
    def status(self) -> str:
        """The recording-quality status of the JSON output: no_music, too_noisy, unknown or ok."""
        if self.flags["no_music"]:
            return "no_music"
        if self.flags["too_noisy"]:
            return "too_noisy"
        return "unknown" if math.isnan(self.snr_db) else "ok"


def flags_for(evidence: Evidence, rules: Rules) -> dict[str, bool]:
    """Which signals fire (the quality values may be NaN: the model cannot tell)."""
    e = evidence
    room = not math.isnan(e.no_music) and e.no_music > rules.no_music_above
    flags = {
        "no_music": room,
        "too_noisy": rules.noisy_snr_below is not None and not math.isnan(e.snr_db) and e.snr_db < rules.noisy_snr_below,
        "unfamiliar": (e.novelty > rules.novelty_limit or room
                       or (not math.isnan(e.not_music) and e.not_music > rules.not_music_above)),
        "unsure": e.confidence < rules.unsure_limit(e.seconds) or e.seconds < rules.min_sure_seconds,
    }
    flags["any"] = any(flags.values())
    return flags


def advice_for(flags: dict[str, bool], evidence: Evidence, rules: Rules) -> list[str]:
    """Plain advice for each signal that fired, most important first."""
    out = []
    if flags["no_music"]:
        # The quality layer cannot tell talk alone from music buried under talk: say both, talk first.
        out.append("This sounds like talk or room noise, not music, so there is no genre to name. If music is "
                   "playing under it, turn the music up or hold the microphone closer to the speaker.")
    elif flags["too_noisy"]:
        out.append(f"Too noisy to judge: the music is barely louder than the noise around it (about "
                   f"{evidence.snr_db:.0f} dB). Turn the music up or move closer to the speaker.")
    if flags["unfamiliar"] and not flags["no_music"]:
        out.append("This audio is unlike the music the model was trained on. Is it music? Speech, noise, a test "
                   "tone or a very distant recording still gets one of the labels.")
    if flags["unsure"] and evidence.seconds < rules.min_sure_seconds:
        out.append(f"Too short to be sure: {evidence.seconds:.1f} s of audio is less than the "
                   f"{rules.min_sure_seconds:g} s the model's confidence was checked on. Treat the verdict as a guess "
                   "and record a few seconds more.")
    elif flags["unsure"]:
        out.append(f"The model is unsure: its best guess scores {evidence.confidence:.0%}, below "
                   f"{rules.unsure_limit(evidence.seconds):.0%}. Treat the verdict as a guess; the genre timeline shows "
                   "where it hesitates.")
    return out


def assess(labels: list[str], evidence: Evidence, rules: Rules) -> Judgement:
    """The judgement of ``evidence`` (scores in the order of ``labels``) under the model's ``rules``."""
    flags = flags_for(evidence, rules)
    return Judgement(genre=labels[evidence.best], confidence=evidence.confidence, flags=flags,
                     advice=advice_for(flags, evidence, rules), snr_db=float(evidence.snr_db))
