"""Augmentation. Audio-level kinds make extra copies of each training clip before feature
extraction (cached like the clean features); SpecAugment-style masking is applied to feature
batches while training. Copies are drawn from streams seeded by the run seed and the clip's
content, so a run is reproducible and a copy never depends on the other clips.

Audio kinds: ``gain`` (-12..+6 dB) and ``noise`` (white or pink, 10-30 dB SNR) apply to every
copy; ``micsim`` (a fair room recording) and ``room`` (a noisy classroom, see
:mod:`genre_model.roomsim`) take turns: copy i uses the (i mod n)-th of those listed.
"""

from __future__ import annotations

import numpy as np
import torch

from genre_model.heads import SNR_CLEAN_DB
from genre_model.roomsim import SpeechPool, make_noise, simulate_room

ROOM_KINDS = ("micsim", "room")
AUDIO_KINDS = ("gain", "noise") + ROOM_KINDS
KINDS = AUDIO_KINDS + ("specaugment",)


def parse_kinds(text: str | list[str] | None) -> list[str]:
    """``"gain,micsim"`` -> ``["gain", "micsim"]``; "none" or empty -> ``[]``."""
    items = text if isinstance(text, list) else [t.strip() for t in (text or "").split(",")]
    kinds = [k for k in items if k and k != "none"]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)} (choose from {', '.join(KINDS)} or none)")
    return kinds


def augment_audio(y: np.ndarray, sr: int, kinds: list[str], rng: np.random.Generator, *, copy_index: int = 0,
                  speech: SpeechPool | None = None) -> tuple[np.ndarray, float]:
    """Augmented copy ``copy_index`` of mono float32 ``y``, and the music's SNR in it (dB;
    :data:`~genre_model.heads.SNR_CLEAN_DB` when no noise was added)."""
    x = y.astype(np.float32)
    snr = SNR_CLEAN_DB
    if "gain" in kinds:
        x = np.clip(x * 10 ** (rng.uniform(-12, 6) / 20), -1, 1).astype(np.float32)
    if "noise" in kinds:
        noise = make_noise(len(x), str(rng.choice(["white", "pink"])), sr, rng)
        snr = float(rng.uniform(10, 30))
        scale = np.sqrt(np.mean(x ** 2) / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr / 10))
        x = (x + scale * noise).astype(np.float32)
    rooms = [k for k in kinds if k in ROOM_KINDS]
    if rooms:
        profile = "mic" if rooms[copy_index % len(rooms)] == "micsim" else "noisy-room"
        x, c = simulate_room(x, sr, rng, profile=profile, speech=speech)
        snr = min(snr, c.snr_db)
    return x, snr


def spec_augment(batch: torch.Tensor, generator: torch.Generator, *, masks: int = 2, max_fraction: float = 0.15) -> torch.Tensor:
    """Zero ``masks`` random bands along each of the last two axes (time and frequency for log-mel,
    coefficients and time for mfcc5), each up to ``max_fraction`` of the axis, per example."""
    if batch.ndim < 3:
        return batch  # a feature vector has no time or frequency axis to mask
    out = batch.clone()
    fill = out.mean()
    for axis in (-1, -2):
        size = out.shape[axis]
        width = max(1, int(size * max_fraction))
        for i in range(len(out)):
            for _ in range(masks):
                w = int(torch.randint(0, width + 1, (1,), generator=generator))
                start = int(torch.randint(0, max(1, size - w + 1), (1,), generator=generator))
                index = [i] + [slice(None)] * (out.ndim - 1)
                index[axis] = slice(start, start + w)
                out[tuple(index)] = fill
    return out
