import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth
from genre_model.audio import AudioClip, load_audio
from genre_model.errors import AudioError
from tests.conftest import dominant_frequency

SR = 16000


@pytest.mark.parametrize("fmt,subtype,suffix", [
    ("WAV", "PCM_16", ".wav"), ("WAV", "FLOAT", ".wav"), ("FLAC", "PCM_16", ".flac"),
    ("OGG", "VORBIS", ".ogg"), ("MP3", "MPEG_LAYER_III", ".mp3"), ("AU", "PCM_16", ".au"),
])
@pytest.mark.parametrize("rate,channels", [(44100, 2), (22050, 1), (8000, 1), (48000, 6)])
def test_formats_rates_and_channels_decode_to_mono_at_model_rate(tmp_path, fmt, subtype, suffix, rate, channels):
    if fmt == "MP3" and channels > 2:
        pytest.skip("MP3 holds at most 2 channels")
    x = synth.tone(440.0, 2.0, sr=rate)
    data = np.repeat(x[:, None], channels, axis=1)
    path = tmp_path / f"clip{suffix}"
    try:
        sf.write(path, data, rate, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError) as exc:
        pytest.skip(f"libsndfile cannot write {fmt} {rate} Hz x{channels}: {exc}")
    clip = load_audio(path, sample_rate=SR)
    assert isinstance(clip, AudioClip)
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.sample_rate == SR and clip.source_sample_rate == rate and clip.source_channels == channels
    assert clip.duration == pytest.approx(2.0, abs=0.06)  # mp3 adds encoder padding
    assert dominant_frequency(clip.samples, SR) == pytest.approx(440.0, abs=3.0)


def test_bytes_file_object_and_path_give_the_same_samples(write_audio):
    path = write_audio("a.wav", synth.music_like(3.0, sr=22050), 22050)
    a = load_audio(path, sample_rate=SR).samples
    b = load_audio(path.read_bytes(), sample_rate=SR).samples
    c = load_audio(io.BytesIO(path.read_bytes()), sample_rate=SR).samples
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_long_file_is_resampled_in_blocks_without_seams(write_audio):
    # 25 s crosses the 10 s decode blocks twice; a seam would show up as a click (a large jump)
    x = synth.tone(220.0, 25.0, sr=44100)
    clip = load_audio(write_audio("long.wav", x, 44100, subtype="FLOAT"), sample_rate=SR)
    assert len(clip.samples) == pytest.approx(25 * SR, abs=2)
    expected = synth.tone(220.0, 25.0, sr=SR)
    np.testing.assert_allclose(clip.samples[SR:-SR], expected[SR:-SR], atol=2e-3)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (needed for m4a/AAC)")
def test_m4a_goes_through_ffmpeg(tmp_path):
    wav = tmp_path / "x.wav"
    sf.write(wav, synth.tone(330.0, 3.0, sr=44100), 44100)
    m4a = tmp_path / "x.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    for source in (m4a, m4a.read_bytes()):
        clip = load_audio(source, sample_rate=SR)
        assert clip.duration == pytest.approx(3.0, abs=0.1)
        assert dominant_frequency(clip.samples, SR) == pytest.approx(330.0, abs=3.0)
    assert not list(tmp_path.parent.glob("genre_model_*")), "temporary file left behind"


def _code(source, **kwargs) -> str:
    with pytest.raises(AudioError) as info:
        load_audio(source, sample_rate=SR, **kwargs)
    assert info.value.message and "Traceback" not in info.value.message
    return info.value.code


def test_empty_inputs(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert _code(empty) == "empty"
    assert _code(b"") == "empty"
    assert _code(io.BytesIO(b"")) == "empty"
    assert _code(synth.wav_bytes(np.zeros(0, np.float32), 22050)) == "empty"


def test_missing_file(tmp_path):
    assert _code(tmp_path / "nope.wav") == "unreadable"


def test_not_audio(rng, monkeypatch):
    monkeypatch.setattr("genre_model.audio.ffmpeg_available", lambda: False)
    assert _code(b"%PDF-1.4 this is not audio" * 50) == "unreadable"
    assert _code(rng.bytes(5000)) == "unreadable"


def test_not_audio_with_ffmpeg_fallback(rng):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    assert _code(rng.bytes(5000)) == "unreadable"


def test_truncated_wav_keeps_what_is_there_or_fails_clearly():
    data = synth.wav_bytes(synth.tone(440.0, 3.0, sr=22050), 22050)
    clip = load_audio(data[: len(data) // 2], sample_rate=SR)  # header claims 3 s, half is present
    assert clip.duration == pytest.approx(1.5, abs=0.05)
    assert _code(data[:30]) == "unreadable"  # header cut mid-way


def test_silence_and_near_silence():
    assert _code(synth.wav_bytes(np.zeros(22050 * 3, np.float32), 22050)) == "silent"
    quiet = synth.tone(440.0, 3.0, sr=22050, amplitude=0.002)
    clip = load_audio(synth.wav_bytes(quiet, 22050), sample_rate=SR)
    assert any("quiet" in w for w in clip.warnings)


def test_too_short_and_too_long():
    assert _code(synth.wav_bytes(synth.tone(440.0, 0.5, sr=22050), 22050)) == "too_short"
    load_audio(synth.wav_bytes(synth.tone(440.0, 0.5, sr=22050), 22050), sample_rate=SR, min_seconds=0.25)
    assert _code(synth.wav_bytes(synth.tone(440.0, 5.0, sr=8000), 8000), max_seconds=4.0) == "too_long"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(bad):
    x = synth.tone(440.0, 2.0, sr=22050)
    x[1000] = bad
    assert _code(synth.wav_bytes(x, 22050, subtype="FLOAT")) == "non_finite"


def test_extreme_sample_rate_is_refused():
    assert _code(synth.wav_bytes(synth.tone(100.0, 4.0, sr=500), 500)) == "bad_format"


def test_clipping_warning():
    x = np.clip(synth.tone(440.0, 3.0, sr=22050, amplitude=3.0), -1, 1)
    clip = load_audio(synth.wav_bytes(x, 22050), sample_rate=SR)
    assert any("clipped" in w for w in clip.warnings)
    clean = load_audio(synth.wav_bytes(synth.tone(440.0, 3.0, sr=22050), 22050), sample_rate=SR)
    assert clean.warnings == []


def test_huge_finite_samples_that_overflow_when_mixed_are_refused():
    x = np.full((22050 * 2, 2), 3e38, dtype=np.float32)  # finite, but the stereo mix overflows
    assert _code(synth.wav_bytes(x, 22050, subtype="FLOAT")) == "non_finite"
