"""Hostile audio: every input ends in a result or our own AudioError, never a crash, a hang or a
memory blow-up. Property-based (hypothesis) over random and mutated files, plus hand-made traps.

The number of cases and their outcome classes are printed at the end of the test run. Set
FUZZ_EXAMPLES (default 60 per property) for a longer run."""

from __future__ import annotations

import io
import os
import resource
import struct
import time
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genre_model import synth
from genre_model.__main__ import main as cli
from genre_model.audio import load_audio
from genre_model.errors import AudioError
from tests.figures import FIGURES

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
OUTCOMES: Counter = Counter()
SECONDS_PER_CASE = 20.0
MB_PER_CASE = 400.0
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _classify(data: bytes, **kwargs) -> str:
    """Load ``data``; record and return the outcome class. Anything but AudioError propagates."""
    start, peak = time.perf_counter(), _peak_rss_mb()
    try:
        clip = load_audio(data, sample_rate=16000, **kwargs)
        assert clip.samples.dtype == np.float32 and np.isfinite(clip.samples).all()
        outcome = "ok"
    except AudioError as exc:
        assert exc.message and exc.code
        outcome = f"AudioError:{exc.code}"
    elapsed, grown = time.perf_counter() - start, _peak_rss_mb() - peak
    assert elapsed < SECONDS_PER_CASE, f"took {elapsed:.1f} s"
    assert grown < MB_PER_CASE, f"peak memory grew {grown:.0f} MB"
    OUTCOMES[outcome] += 1
    return outcome


def _encoded(fmt: str) -> bytes:
    x = synth.music_like(2.0, sr=22050, seed=1)
    subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
    return synth.wav_bytes(x, 22050, subtype=subtype, format=fmt)


VALID = {fmt: _encoded(fmt) for fmt in ("WAV", "FLAC", "OGG", "MP3")}


@FUZZ
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes(data):
    _classify(data)


@FUZZ
@given(fmt=st.sampled_from(sorted(VALID)), cut=st.floats(0.0, 1.0))
def test_truncated_files(fmt, cut):
    data = VALID[fmt]
    _classify(data[: int(len(data) * cut)])


@FUZZ
@given(fmt=st.sampled_from(sorted(VALID)), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)),
                                                          min_size=1, max_size=40))
def test_corrupted_files(fmt, flips):
    data = bytearray(VALID[fmt])
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    _classify(bytes(data))


def _wav_header(*, channels=1, rate=22050, bits=16, data_bytes=0, fmt_tag=1) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, (rate * block) % 2**32, block % 2**16, bits)
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", data_bytes))


@FUZZ
@given(channels=st.integers(0, 12), rate=st.sampled_from([0, 1, 100, 7999, 8000, 44100, 192000, 10**6, 2**32 - 1]),
       bits=st.sampled_from([0, 8, 16, 24, 32, 7]), claimed=st.integers(0, 2**32 - 1), present=st.integers(0, 20000))
def test_handmade_wav_headers(channels, rate, bits, claimed, present):
    payload = np.random.default_rng(present).integers(-3000, 3000, present // 2, dtype=np.int16).tobytes()
    _classify(_wav_header(channels=channels, rate=rate, bits=bits, data_bytes=claimed) + payload)


@pytest.mark.parametrize("case", ["hours_claimed", "eight_channels", "nan", "inf", "wrong_extension", "one_hour"])
def test_named_traps(case, tmp_path):
    if case == "hours_claimed":  # header says ~6.7 hours, 1 s of data present
        outcome = _classify(_wav_header(data_bytes=2**31) + np.zeros(22050, np.int16).tobytes() + b"\x01\x02" * 11025)
        assert outcome in ("ok", "AudioError:silent", "AudioError:too_long", "AudioError:unreadable")
    elif case == "eight_channels":
        x = np.stack([synth.tone(220.0 * (i + 1), 2.0, sr=22050) for i in range(8)], axis=1)
        assert _classify(synth.wav_bytes(x, 22050)) == "ok"
    elif case in ("nan", "inf"):
        x = synth.tone(440.0, 2.0, sr=22050)
        x[100:200] = np.nan if case == "nan" else np.inf
        assert _classify(synth.wav_bytes(x, 22050, subtype="FLOAT")) == "AudioError:non_finite"
    elif case == "wrong_extension":  # FLAC bytes in a .mp3 file: decoded by content, not by name
        path = tmp_path / "song.mp3"
        path.write_bytes(VALID["FLAC"])
        clip = load_audio(path, sample_rate=16000)
        assert clip.duration == pytest.approx(2.0, abs=0.01)
        OUTCOMES["ok"] += 1
    elif case == "one_hour":  # refused from the header, before decoding an hour of audio
        path = tmp_path / "hour.wav"
        with sf.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as f:
            block = synth.music_like(60.0, sr=8000)
            for _ in range(60):
                f.write(block)
        start = time.perf_counter()
        with pytest.raises(AudioError) as info:
            load_audio(path, sample_rate=16000)
        assert info.value.code == "too_long" and time.perf_counter() - start < 2.0
        OUTCOMES["AudioError:too_long"] += 1


@settings(max_examples=max(10, EXAMPLES // 4), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(sorted(VALID)), cut=st.floats(0.0, 1.0), junk=st.binary(max_size=64))
def test_cli_never_crashes(tmp_path_factory, capsys, fmt, cut, junk):
    path = tmp_path_factory.mktemp("cli") / "input.bin"
    data = VALID[fmt]
    path.write_bytes(data[: int(len(data) * cut)] + junk)
    code = cli(["predict", str(path), "--json"])
    captured = capsys.readouterr()
    assert code in (0, 1)
    assert "Traceback" not in captured.err
    assert (code == 1) == captured.err.startswith("error:")
    OUTCOMES[f"cli exit {code}"] += 1


def test_zz_report_outcomes():
    """Last in the file: print what was tried (shown in the terminal summary)."""
    total = sum(OUTCOMES.values())
    assert total > 0
    FIGURES.append(f"hostile audio: {total} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(OUTCOMES.items())))
