"""Shared fixtures. All audio is generated here; nothing from ../shared is copied into tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth

# Remembered app settings (the GTZAN folder) go to a temporary file, never the user's own.
os.environ.setdefault("GENRE_SETTINGS", str(Path(tempfile.mkdtemp(prefix="genre-settings-")) / "settings.json"))

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GENRE_SHARED_DATA", ROOT.parent / "shared" / "data"))
EXCERPTS = SHARED_DATA / "gtzan_excerpts"
# The ten GTZAN genres, in the order every shipped model uses (the models carry their own labels;
# the tests check the shipped ones against this list).
GENRES: tuple[str, ...] = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")

needs_shared_data = pytest.mark.skipif(
    not EXCERPTS.is_dir(),
    reason=f"real GTZAN excerpts not found at {EXCERPTS} (CI has them; a fresh clone does not)",
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture
def write_audio(tmp_path):
    """write_audio(name, samples, sr, **soundfile kwargs) -> Path of a new audio file in tmp_path."""

    def _write(name: str, samples: np.ndarray, sr: int, **kwargs) -> Path:
        path = tmp_path / name
        sf.write(path, samples, sr, **kwargs)
        return path

    return _write


@pytest.fixture(scope="session")
def music_wav(tmp_path_factory) -> Path:
    """10 s of generated music (drums, bass, chords) at 22050 Hz."""
    path = tmp_path_factory.mktemp("music") / "music.wav"
    sf.write(path, synth.music_like(10.0, sr=22050, seed=3), 22050)
    return path


@pytest.fixture(scope="session")
def classifier():
    from genre_model.predict import Classifier
    return Classifier("default", device="cpu")


def dominant_frequency(samples: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / sr)[np.argmax(spectrum)])


def pytest_terminal_summary(terminalreporter):
    """Print the figures that tests recorded (outcome classes, load-test latencies, ...)."""
    from tests.figures import FIGURES
    for line in FIGURES:
        terminalreporter.write_line(line)
