"""Augmentation and listening conditions: the one vocabulary of how a clip is altered, shared by
all architectures.

Kinds of alteration (:data:`KINDS`): ``gain`` (-12..+6 dB) and ``noise`` (white or pink, 10-30 dB
SNR) apply to every copy they are asked for; ``micsim`` (a fair room recording, 5-30 dB SNR) and
``room`` (a noisy classroom, 0-15 dB SNR, see :mod:`genre_model.roomsim`) take turns: copy i uses
the (i mod n)-th of those listed; ``specaugment`` masks feature batches while training.

Variants of a clip (each with its own random stream, :func:`variant_rng`): ``clean``; training
copies (drawn from the training voices) ``mic<i>`` (micsim), ``room<i>`` (room) and ``aug<i>``
(the kinds a from-scratch run asks for); held-out conditions (drawn from other voices and random
streams the training copies never use): ``eval-room-<a>-<b>`` (a noisy classroom at a to b dB SNR),
``eval-mic`` and the fixed ``reference`` recording. ``background<i>`` / ``eval-background<i>`` are
room recordings with no music at all; ``other<i>`` / ``eval-other<i>`` sounds that are not music
(tones, noise, beeps).
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np
import torch

from genre_model.fitting import SNR_CLEAN_DB
from genre_model.roomsim import (REFERENCE_CONDITIONS, SpeechPool, background_only, make_noise, not_music,
                                 simulate_room, talk)

ROOM_KINDS = ("micsim", "room")
AUDIO_KINDS = ("gain", "noise") + ROOM_KINDS
KINDS = AUDIO_KINDS + ("specaugment",)
BACKGROUND_SECONDS = 6.0


def training_variants(mic_copies: int, room_copies: int) -> list[str]:
    return ["clean"] + [f"mic{i}" for i in range(mic_copies)] + [f"room{i}" for i in range(room_copies)]


def parse_kinds(text: str | list[str] | None) -> list[str]:
    """``"gain,micsim"`` -> ``["gain", "micsim"]``; "none" or empty -> ``[]``."""
    items = text if isinstance(text, list) else [t.strip() for t in (text or "").split(",")]
    kinds = [k for k in items if k and k != "none"]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)} (choose from {', '.join(KINDS)} or none)")
    return kinds


def training_copy(y: np.ndarray, sr: int, kinds: list[str], rng: np.random.Generator, *, copy_index: int = 0,
                  speech: SpeechPool | None = None) -> tuple[np.ndarray, dict]:
    """Training copy ``copy_index`` of mono float32 ``y`` altered by ``kinds``, and what was drawn
    (the room's conditions, if any, and ``snr_db``: the music's SNR in the copy,
    :data:`~genre_model.fitting.SNR_CLEAN_DB` when no noise was added)."""
    x = y.astype(np.float32)
    drawn: dict = {"snr_db": SNR_CLEAN_DB}
    if "gain" in kinds:
        x = np.clip(x * 10 ** (rng.uniform(-12, 6) / 20), -1, 1).astype(np.float32)
    if "noise" in kinds:
        noise = make_noise(len(x), str(rng.choice(["white", "pink"])), sr, rng)
        drawn["snr_db"] = float(rng.uniform(10, 30))
        scale = np.sqrt(np.mean(x ** 2) / (np.mean(noise ** 2) + 1e-12) / 10 ** (drawn["snr_db"] / 10))
        x = (x + scale * noise).astype(np.float32)
    rooms = [k for k in kinds if k in ROOM_KINDS]
    if rooms:
        profile = "mic" if rooms[copy_index % len(rooms)] == "micsim" else "noisy-room"
        x, c = simulate_room(x, sr, rng, profile=profile, speech=speech)
        drawn = c.to_dict() | {"snr_db": min(drawn["snr_db"], c.snr_db)}
    return x, drawn


def variant_rng(seed: int, content_sha: str, name: str) -> np.random.Generator:
    """The random stream of one variant of one clip: depends on the run seed, the clip's content and
    the variant's name only, so it never depends on which other clips or variants exist."""
    return np.random.default_rng([seed, int(content_sha[:12], 16), zlib.crc32(name.encode())])


def make_variant(name: str, samples: np.ndarray, sr: int, rng: np.random.Generator,
                 pools: dict[str, SpeechPool], kinds: list[str] = ()) -> tuple[np.ndarray, dict]:
    """The audio of variant ``name`` of a clip and the conditions drawn (``{}`` for clean);
    ``kinds``: what the ``aug<i>`` copies are made of."""
    if name == "clean":
        return samples, {}
    if name.startswith(("mic", "room", "aug")):
        kinds = ["micsim"] if name.startswith("mic") else ["room"] if name.startswith("room") else list(kinds)
        return training_copy(samples, sr, kinds, rng, copy_index=int(name[3:] if name.startswith("aug") else 0),
                             speech=pools["train"])
    if name == "reference":
        out, c = simulate_room(samples, sr, rng, REFERENCE_CONDITIONS)
    elif name.startswith("eval-room-"):
        a, b = (float(v) for v in name.removeprefix("eval-room-").split("-"))
        out, c = simulate_room(samples, sr, rng, profile="noisy-room", snr_db=(a, b), speech=pools["eval"])
    elif name == "eval-mic":
        out, c = simulate_room(samples, sr, rng, profile="mic", speech=pools["eval"])
    else:
        raise ValueError(f"unknown variant {name!r}")
    return out, c.to_dict()


def background(index: int, split: str, sr: int, seed: int, pools: dict[str, SpeechPool]) -> np.ndarray:
    """Music-free room recording ``index`` of ``split`` ("train" or "eval" voices)."""
    rng = np.random.default_rng([seed, zlib.crc32(f"background-{split}".encode()), index])
    return background_only(int(BACKGROUND_SECONDS * sr), sr, rng, speech=pools[split])


def other_sound(index: int, split: str, sr: int, seed: int) -> np.ndarray:
    """Sound ``index`` of ``split`` ("train" or "eval") that is not music (a tone, noise, beeps)."""
    rng = np.random.default_rng([seed, zlib.crc32(f"other-{split}".encode()), index])
    return not_music(int(BACKGROUND_SECONDS * sr), sr, rng)


# Music-free sets: rooms (talk, crowd, clatter), other sounds (tones, noise, beeps) and one person
# talking; the quality layer trains on the "-train" ones, held-out voices and streams make the others.
NON_MUSIC_SETS = ("train", "other-train", "talk-train", "eval", "other-eval", "talk-eval")
ROOM_SETS = ("train", "talk-train")   # what the quality layer learns as "no music: talk or room noise"


def talking(index: int, split: str, sr: int, seed: int, pools: dict[str, SpeechPool]) -> np.ndarray:
    """Recording ``index`` of ``split`` of one person talking (see genre_model.roomsim.talk)."""
    rng = np.random.default_rng([seed, zlib.crc32(f"talk-{split}".encode()), index])
    return talk(int(BACKGROUND_SECONDS * sr), sr, rng, speech=pools[split])


def non_music_audio(set_name: str, index: int, sr: int, seed: int, pools: dict[str, SpeechPool]) -> np.ndarray:
    split = "eval" if "eval" in set_name else "train"
    if set_name.startswith("other"):
        return other_sound(index, split, sr, seed)
    if set_name.startswith("talk"):
        return talking(index, split, sr, seed, pools)
    return background(index, split, sr, seed, pools)


def room_rows(background: dict[str, list[np.ndarray]]) -> list[np.ndarray]:
    """The training recordings the quality layer learns as "no music" (rooms and talk)."""
    return [x for k in ROOM_SETS for x in background.get(k, [])]


def non_music_features(cache, n: int, seed: int, sr: int, pools: dict[str, SpeechPool],
                       features: Callable[[np.ndarray], np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Each music-free set's chunk features (``features(samples) -> [n_chunks, ...]``), ``n``
    recordings per training set and ``n // 2`` per held-out set, from ``cache`` when there."""
    out = {}
    for set_name in NON_MUSIC_SETS:
        arrays = []
        for i in range(n if "eval" not in set_name else n // 2):
            key = f"background-{set_name}-{i}"
            got = cache.get(key, "bg")
            if got is None:
                cache.put(key, "bg", x=features(non_music_audio(set_name, i, sr, seed, pools)))
                got = cache.get(key, "bg")
            arrays.append(got["x"])
        out[set_name] = arrays
    return out


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
