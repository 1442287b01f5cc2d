"""Voices for babble augmentation: recorded read speech (``../shared/data/speech``), synthetic
voices from Debian's ``espeak-ng`` when it is installed, and generated speech-like voices.

Training and evaluation draw babble from disjoint voices (:func:`speech_pools`), so the held-out
noisy-room scores measure robustness to talkers the model never heard.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from genre_model import synth
from genre_model.audio import load_audio
from genre_model.errors import AudioError
from genre_model.model_dir import atomic_path
from genre_model.roomsim import SpeechPool

SENTENCES = (
    "Can everyone please open their books at page forty two and read the first paragraph quietly.",
    "Did you see the match last night? It was unbelievable, they scored twice in the last minute.",
    "I think the answer is seven, but I am not completely sure, can you check it again?",
    "Put your bags under the table and take out a pen, we are starting in two minutes.",
    "My sister says the new café near the station makes the best sandwiches in town.",
    "Who has the blue marker? I left mine in the other classroom yesterday afternoon.",
    "We should finish the poster before lunch, otherwise we will have to stay after school.",
    "Quiet please, the music is about to start, listen carefully and write down what you hear.",
    "That sounds like something my grandfather used to play on his old record player.",
    "Are we going outside for the break or is it still raining? I forgot my jacket again.",
    "The bus was late this morning so I missed the first part of the lesson, sorry.",
    "Turn it up a little, I cannot hear anything from the back of the room.",
)
# espeak-ng voice variants: training and evaluation use different ones.
TRAIN_ESPEAK = ("en-us", "en-gb+f2", "en-gb-scotland", "en+m3", "en-029+f4", "en-gb-x-rp+m2")
EVAL_ESPEAK = ("en-us+f3", "en-gb+m4", "en-gb-x-gbclan", "en+f5")


def espeak_voices(cache: Path, voices: tuple[str, ...], sr: int, seed: int) -> list[np.ndarray]:
    """Each voice reads every sentence at a random speed and pitch (cached as WAV files under
    ``cache``); empty when espeak-ng is not installed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        print("note: espeak-ng is not installed; babble uses recorded and generated voices only", file=sys.stderr)
        return []
    rng = np.random.default_rng(seed)
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for voice in voices:
        speed, pitch = int(rng.integers(140, 200)), int(rng.integers(20, 80))
        path = cache / f"{voice.replace('+', '_')}-{speed}-{pitch}.wav"
        if not path.is_file():
            # Written atomically: another process (a torchrun rank) never reads a half-written file.
            with atomic_path(path) as part:
                subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(part),
                                " ".join(SENTENCES)], check=True, capture_output=True)
        out.append(load_audio(path, sample_rate=sr).samples)
    return out


def recorded_voices(folder: Path | None, sr: int) -> list[np.ndarray]:
    """Every readable audio file in ``folder`` (sorted by name)."""
    if folder is None or not folder.is_dir():
        return []
    voices = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in {".ogg", ".wav", ".flac", ".mp3"}:
            try:
                voices.append(load_audio(path, sample_rate=sr).samples)
            except AudioError as exc:
                print(f"warning: speech file {path.name}: {exc.message}", file=sys.stderr)
    return voices


def speech_pools(speech_dir: Path | None, cache: Path, sr: int) -> dict[str, SpeechPool]:
    """``{"train": ..., "eval": ...}``: disjoint voices. Recorded readers are dealt out so that the
    last one is kept for evaluation; espeak-ng variants and generated voices are split likewise."""
    recorded = recorded_voices(speech_dir, sr)
    held = recorded[-1:] if len(recorded) > 1 else []
    train_rec = recorded[:-1] if len(recorded) > 1 else recorded
    gen = [synth.speech_like(12.0, sr=sr, seed=2000 + i) for i in range(8)]
    return {
        "train": SpeechPool(train_rec + espeak_voices(cache / "espeak", TRAIN_ESPEAK, sr, 1) + gen[:5], sr),
        "eval": SpeechPool(held + espeak_voices(cache / "espeak", EVAL_ESPEAK, sr, 2) + gen[5:], sr),
    }


def pool_signature(pools: dict[str, SpeechPool]) -> str:
    """A short hash of the voices (part of a feature cache's key: other voices, other noisy copies)."""
    h = hashlib.sha256()
    for name in sorted(pools):
        for v in pools[name].voices:
            h.update(name.encode())
            h.update(np.ascontiguousarray(v[::97]).tobytes())
    return h.hexdigest()[:16]
