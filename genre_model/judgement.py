"""When a model should not be trusted, and what to tell the user.

Four signals, each from the model's own outputs for a clip (see :class:`genre_model.predict.Prediction`):

- **no music**: the quality layer hears mostly talk or room noise;
- **too noisy**: the estimated music-to-noise ratio is below the model's limit;
- **unfamiliar**: the audio is unlike the music the model learned from: far from all of it
  (novelty), or heard by the quality layer as a sound that is not music (a tone, noise, beeps),
  or as no music at all;
- **unsure**: the best calibrated genre probability is low.

The limits are chosen per model on held-out artists when it is trained, and stored in its checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Rules:
    unsure_below: float = 0.4
    novelty_limit: float = 0.85
    noisy_snr_below: float | None = None   # None: never call a clip too noisy
    no_music_above: float = 0.5
    not_music_above: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "Rules":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


def judge(confidence: float, novelty: float, no_music: float, snr_db: float, rules: Rules,
          not_music: float = math.nan) -> dict[str, bool]:
    """Which signals fire for a clip (the quality values may be NaN: the model cannot tell)."""
    room = not math.isnan(no_music) and no_music > rules.no_music_above
    flags = {
        "no_music": room,
        "too_noisy": rules.noisy_snr_below is not None and not math.isnan(snr_db) and snr_db < rules.noisy_snr_below,
        "unfamiliar": (novelty > rules.novelty_limit or room
                       or (not math.isnan(not_music) and not_music > rules.not_music_above)),
        "unsure": confidence < rules.unsure_below,
    }
    flags["any"] = any(flags.values())
    return flags


def messages(flags: dict[str, bool], *, snr_db: float = math.nan, confidence: float = math.nan,
             rules: Rules = Rules()) -> list[str]:
    """Plain advice for each signal that fired, most important first."""
    out = []
    if flags.get("no_music"):
        out.append("This sounds mostly like talking or room noise, not music. Turn the music up or hold the "
                   "microphone closer to the speaker, and ask the room to be quiet for a moment.")
    elif flags.get("too_noisy"):
        out.append(f"Too noisy to judge: the music is barely louder than the noise around it (about "
                   f"{snr_db:.0f} dB). Turn the music up or move closer to the speaker.")
    if flags.get("unfamiliar") and not flags.get("no_music"):
        out.append("This audio is unlike the music the model was trained on. Is it music? Speech, noise, a test "
                   "tone or a very distant recording still gets one of the labels.")
    if flags.get("unsure"):
        out.append(f"The model is unsure: its best guess scores {confidence:.0%}, below {rules.unsure_below:.0%}. "
                   "Treat the verdict as a guess; the genre timeline shows where it hesitates.")
    return out
