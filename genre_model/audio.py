"""Decode any audio file, bytes or file object into mono float32 at the model's rate.

Decoding streams: the source is read in blocks, each block is mixed to mono and resampled
(soxr, streaming) before the next is read, so a long 44.1 kHz stereo file never sits in memory
at its native rate. libsndfile (via soundfile) reads WAV, FLAC, OGG/Vorbis, MP3 and AU; other
formats (m4a/AAC, ...) go through ffmpeg when it is installed.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

Source = Union[str, os.PathLike, bytes, bytearray, BinaryIO]

DEFAULT_MIN_SECONDS = 1.0
DEFAULT_MAX_SECONDS = 20 * 60.0
SILENCE_PEAK = 1e-4  # -80 dBFS: nothing a microphone or a file of music produces
QUIET_RMS = 10 ** (-50 / 20)  # -50 dBFS: usable, but the user should know
CLIP_LEVEL = 0.999
CLIP_FRACTION = 0.001  # more than 0.1% of samples at full scale is audible clipping
_BLOCK_SECONDS = 10.0
_MIN_RATE, _MAX_RATE = 1_000, 768_000
SUPPORTED_HINT = "WAV, FLAC, OGG, MP3 or AU (m4a/AAC when ffmpeg is installed)"


@dataclass
class AudioClip:
    """Decoded audio: ``samples`` is ``np.ndarray [shape=(n,), dtype=float32]``, mono."""

    samples: np.ndarray
    sample_rate: int
    source_sample_rate: int
    source_channels: int
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def load_audio(
    source: Source,
    *,
    sample_rate: int,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> AudioClip:
    """Decode ``source`` to mono float32 at ``sample_rate`` and check it is usable music input.

    Raises :class:`AudioError` with a message for the user when the input is unreadable,
    empty, silent, shorter than ``min_seconds``, longer than ``max_seconds`` or holds
    NaN/infinite samples. Quiet and clipped audio is accepted with a warning in ``warnings``.
    """
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise AudioError("empty", "The file is empty (0 bytes). Choose a file that contains audio.")
        data: Union[str, BinaryIO] = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise AudioError("unreadable", f"No audio file at {path}.")
        if path.stat().st_size == 0:
            raise AudioError("empty", f"{path.name} is empty (0 bytes). Choose a file that contains audio.")
        data = str(path)
    elif hasattr(source, "read"):
        data = io.BytesIO(source.read())
        if data.getbuffer().nbytes == 0:
            raise AudioError("empty", "The file is empty (0 bytes). Choose a file that contains audio.")
    else:
        raise TypeError(f"cannot read audio from a {type(source).__name__}")

    try:
        clip = _decode_soundfile(data, sample_rate, max_seconds)
    except _NotDecodable as first_failure:
        if not ffmpeg_available():
            raise AudioError(
                "unreadable",
                f"This file could not be decoded as audio ({first_failure}). "
                f"Use {SUPPORTED_HINT}; install ffmpeg to read other formats.",
            ) from None
        clip = _decode_ffmpeg(data, sample_rate, max_seconds)
    _check_content(clip, min_seconds)
    return clip


class _NotDecodable(Exception):
    pass


def _too_long(seconds: float, max_seconds: float) -> AudioError:
    return AudioError(
        "too_long",
        f"The audio is {seconds / 60:.1f} minutes long; the limit is {max_seconds / 60:.1f} minutes. "
        "Trim it or choose a shorter excerpt.",
    )


def _decode_soundfile(data: Union[str, BinaryIO], sample_rate: int, max_seconds: float) -> AudioClip:
    try:
        f = sf.SoundFile(data)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise _NotDecodable(str(exc).split("\n")[0] or "unknown format") from None
    with f:
        rate, channels = f.samplerate, f.channels
        if channels < 1:
            raise AudioError("bad_format", "The file declares no audio channels.")
        if not _MIN_RATE <= rate <= _MAX_RATE:
            raise AudioError(
                "bad_format",
                f"The file's sample rate ({rate} Hz) is outside {_MIN_RATE}-{_MAX_RATE} Hz; "
                "re-export it at a standard rate such as 44100 Hz.",
            )
        if f.frames > 0 and f.frames / rate > max_seconds:
            raise _too_long(f.frames / rate, max_seconds)
        resampler = None if rate == sample_rate else soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
        pieces: list[np.ndarray] = []
        n_in = n_clipped = 0
        block = max(1, int(rate * _BLOCK_SECONDS))
        try:
            for frames in f.blocks(blocksize=block, dtype="float32", always_2d=True):
                if not np.isfinite(frames).all():
                    raise AudioError("non_finite", "The audio contains NaN or infinite sample values; the file is damaged.")
                n_in += len(frames)
                if n_in / rate > max_seconds:
                    raise _too_long(n_in / rate, max_seconds)
                n_clipped += int(np.count_nonzero(np.abs(frames).max(axis=1) >= CLIP_LEVEL))
                mono = frames.mean(axis=1, dtype=np.float32)
                pieces.append(resampler.resample_chunk(mono) if resampler else mono)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError("unreadable", f"The file is damaged and could not be read to the end ({exc}).") from None
        if resampler:
            pieces.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    samples = np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)
    clip = AudioClip(samples, sample_rate, rate, channels)
    if n_in and n_clipped / n_in > CLIP_FRACTION:
        clip.warnings.append(
            f"{100 * n_clipped / n_in:.1f}% of the samples are at full scale: the recording is clipped "
            "(too loud). Lower the volume or move the microphone away for a cleaner result."
        )
    return clip


def _decode_ffmpeg(data: Union[str, BinaryIO], sample_rate: int, max_seconds: float) -> AudioClip:
    tmp = None
    try:
        if isinstance(data, str):
            path = data
        else:  # ffmpeg needs a seekable input for mp4-family containers: use a private temp file
            fd, tmp = tempfile.mkstemp(prefix="genre_model_", suffix=".bin")
            with os.fdopen(fd, "wb") as out:
                out.write(data.getvalue() if isinstance(data, io.BytesIO) else data.read())
            path = tmp
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-t", f"{max_seconds + 1:.0f}",
               "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-"]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise AudioError("unreadable", "Decoding this file took too long; it is probably damaged.") from None
    finally:
        if tmp:
            os.unlink(tmp)
    if proc.returncode != 0 or len(proc.stdout) < 4:
        raise AudioError(
            "unreadable",
            f"This file could not be decoded as audio. Use {SUPPORTED_HINT}.",
        )
    samples = np.frombuffer(proc.stdout[: len(proc.stdout) // 4 * 4], dtype="<f4").astype(np.float32)
    if not np.isfinite(samples).all():
        raise AudioError("non_finite", "The audio contains NaN or infinite sample values; the file is damaged.")
    if len(samples) / sample_rate > max_seconds:
        raise _too_long(len(samples) / sample_rate, max_seconds)
    clip = AudioClip(samples, sample_rate, sample_rate, 1)
    if np.count_nonzero(np.abs(samples) >= CLIP_LEVEL) / len(samples) > CLIP_FRACTION:
        clip.warnings.append("The recording is clipped (too loud). Lower the volume for a cleaner result.")
    return clip


def _check_content(clip: AudioClip, min_seconds: float) -> None:
    if len(clip.samples) == 0:
        raise AudioError("empty", "The file holds no audio samples. Choose a file that contains audio.")
    if clip.duration < min_seconds:
        raise AudioError(
            "too_short",
            f"The audio is {clip.duration:.2f} s long; at least {min_seconds:g} s is needed. "
            "Record or choose a longer clip.",
        )
    # Checked again after mixing and resampling: damaged data with huge finite values can overflow there.
    if not np.isfinite(clip.samples).all():
        raise AudioError("non_finite", "The audio contains NaN or infinite sample values; the file is damaged.")
    peak = float(np.abs(clip.samples).max())
    if peak < SILENCE_PEAK:
        raise AudioError(
            "silent",
            "The audio is silent (nothing above -80 dBFS). Check that the microphone is on and the music is playing.",
        )
    rms = float(np.sqrt(np.mean(np.square(clip.samples, dtype=np.float64))))
    if rms < QUIET_RMS:
        clip.warnings.append(
            f"The audio is very quiet ({20 * np.log10(max(rms, 1e-12)):.0f} dBFS). "
            "Turn the music up or move the microphone closer; quiet input makes the result less reliable."
        )
