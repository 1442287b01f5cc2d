"""The audio conditions every clip is used or scored in, shared by all architectures.

Training copies (drawn from the training voices): ``mic<i>`` (a fair room recording, 5-30 dB SNR)
and ``room<i>`` (a noisy classroom, 0-15 dB SNR). Held-out conditions (drawn from other voices and
random streams the training copies never use): ``eval-room-<a>-<b>`` (a noisy classroom at a to b
dB SNR), ``eval-mic`` and the fixed ``reference`` recording. ``background<i>`` /
``eval-background<i>`` are room recordings with no music at all; ``other<i>`` /
``eval-other<i>`` sounds that are not music (tones, noise, beeps).
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np

from genre_model.roomsim import REFERENCE_CONDITIONS, SpeechPool, background_only, not_music, simulate_room

EVAL_ROOM_BANDS = ((0, 5), (5, 10), (10, 15))
EVAL_CONDITIONS = {
    "clean": "clean audio",
    **{f"eval-room-{a}-{b}": f"noisy classroom, {a}-{b} dB SNR" for a, b in EVAL_ROOM_BANDS},
    "eval-mic": "room recording, 5-30 dB SNR",
    "reference": "fixed reference recording (RT60 0.5 s, 150 Hz-7 kHz, pink noise 20 dB)",
}
ROOM_CONDITIONS = tuple(f"eval-room-{a}-{b}" for a, b in EVAL_ROOM_BANDS)
BACKGROUND_SECONDS = 6.0


def training_variants(mic_copies: int, room_copies: int) -> list[str]:
    return ["clean"] + [f"mic{i}" for i in range(mic_copies)] + [f"room{i}" for i in range(room_copies)]


def variant_rng(seed: int, content_sha: str, name: str) -> np.random.Generator:
    """The random stream of one variant of one clip: depends on the run seed, the clip's content and
    the variant's name only, so it never depends on which other clips or variants exist."""
    return np.random.default_rng([seed, int(content_sha[:12], 16), zlib.crc32(name.encode())])


def make_variant(name: str, samples: np.ndarray, sr: int, rng: np.random.Generator,
                 pools: dict[str, SpeechPool]) -> tuple[np.ndarray, dict]:
    """The audio of variant ``name`` of a clip and the conditions drawn (``{}`` for clean)."""
    if name == "clean":
        return samples, {}
    if name == "reference":
        out, c = simulate_room(samples, sr, rng, REFERENCE_CONDITIONS)
    elif name.startswith("eval-room-"):
        a, b = (float(v) for v in name.removeprefix("eval-room-").split("-"))
        out, c = simulate_room(samples, sr, rng, profile="noisy-room", snr_db=(a, b), speech=pools["eval"])
    elif name == "eval-mic":
        out, c = simulate_room(samples, sr, rng, profile="mic", speech=pools["eval"])
    elif name.startswith("mic"):
        out, c = simulate_room(samples, sr, rng, profile="mic", speech=pools["train"])
    elif name.startswith("room"):
        out, c = simulate_room(samples, sr, rng, profile="noisy-room", speech=pools["train"])
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


NON_MUSIC_SETS = ("train", "other-train", "eval", "other-eval")  # the quality layer trains on the first two


def non_music_audio(set_name: str, index: int, sr: int, seed: int, pools: dict[str, SpeechPool]) -> np.ndarray:
    split = "eval" if "eval" in set_name else "train"
    if set_name.startswith("other"):
        return other_sound(index, split, sr, seed)
    return background(index, split, sr, seed, pools)


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
