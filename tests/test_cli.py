import json
import subprocess
import sys

import pytest

from genre_model.__main__ import main
from tests.conftest import GENRES


def test_json_lines_have_the_documented_shape(capsys, music_wav):
    assert main(["predict", str(music_wav), str(music_wav), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    obj = json.loads(lines[0])
    assert obj["file"] == str(music_wav)
    assert obj["genre"] in GENRES
    assert set(obj["probabilities"]) == set(GENRES)
    assert sum(obj["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert len(obj["chunks"]) == 6
    for chunk in obj["chunks"]:
        assert {"start", "end", "probabilities"} <= set(chunk)
        assert chunk["end"] - chunk["start"] == pytest.approx(3.0)
        assert set(chunk["probabilities"]) == set(GENRES)


def test_human_output_has_verdict_top3_and_chunk_table(capsys, music_wav):
    assert main(["predict", str(music_wav), "--chunk", "5", "--hop", "5", "--aggregate", "vote"]) == 0
    out = capsys.readouterr().out
    assert "majority vote over 2 chunks" in out
    assert "top 3:" in out and out.count(" | ") == 2
    assert "   0.00    5.00" in out and "   5.00   10.00" in out


def test_a_bad_file_is_reported_and_the_others_still_run(capsys, tmp_path, music_wav):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    code = main(["predict", str(bad), str(music_wav), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"error: {bad}:" in captured.err and "could not be decoded" in captured.err
    assert json.loads(captured.out.strip())["file"] == str(music_wav)


def test_unknown_model_exits_2(capsys, music_wav):
    assert main(["predict", str(music_wav), "--model", "no-such-model"]) == 2
    assert "No model named 'no-such-model'" in capsys.readouterr().err


def test_hop_longer_than_chunk_is_a_usage_error(capsys, music_wav):
    assert main(["predict", str(music_wav), "--chunk", "2", "--hop", "3"]) == 2


def test_runs_as_a_module(music_wav):
    proc = subprocess.run([sys.executable, "-m", "genre_model", "predict", str(music_wav), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["genre"] in GENRES
    assert subprocess.run([sys.executable, "-m", "genre_model", "predict"], capture_output=True).returncode == 2


def test_json_reports_recording_quality_and_warns_when_too_noisy(capsys, tmp_path):
    """Issue #9: the quality signal, and a warning instead of a silent confident verdict, for music
    drowned in talk (generated voices) or for talk alone."""
    import numpy as np
    import soundfile as sf

    from genre_model import synth
    from genre_model.roomsim import babble, generated_speech
    music = synth.music_like(12.0, sr=16000, seed=5)
    talk = babble(len(music), 6, np.random.default_rng(1), generated_speech(16000))
    talk *= np.sqrt(np.mean(music ** 2) / np.mean(talk ** 2)) * 10 ** (6 / 20)  # talk 6 dB above the music
    sf.write(tmp_path / "clean.wav", music, 16000)
    sf.write(tmp_path / "crowded.wav", (music + talk) / 4, 16000)
    sf.write(tmp_path / "talk.wav", talk / np.abs(talk).max() / 2, 16000)
    assert main(["predict", *(str(tmp_path / f"{n}.wav") for n in ("clean", "crowded", "talk")), "--json"]) == 0
    clean, crowded, talk_only = (json.loads(line) for line in capsys.readouterr().out.strip().splitlines())
    for obj in (clean, crowded, talk_only):
        assert {"no_music", "not_music", "snr_db", "status"} <= set(obj["quality"]) and "judged" in obj
    assert crowded["quality"]["snr_db"] < clean["quality"]["snr_db"] - 5
    for obj in (crowded, talk_only):
        assert obj["quality"]["status"] in ("too_noisy", "no_music") and not obj["judged"]
        assert any("music up" in w for w in obj["warnings"])


def test_predict_a_folder_recursively_in_sorted_order(music_wav, tmp_path, capsys):
    """Audio files below a folder, sorted, one JSON line each; other files noted and skipped; an
    unreadable audio file reports its own error while the others are still classified."""
    import shutil
    root = tmp_path / "class"
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    shutil.copy(music_wav, root / "b" / "two.wav")
    shutil.copy(music_wav, root / "a" / "one.wav")
    (root / "a" / "notes.txt").write_text("not audio")
    (root / "b" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert main(["predict", str(root), "--json"]) == 1
    captured = capsys.readouterr()
    files = [json.loads(line)["file"] for line in captured.out.strip().splitlines()]
    assert files == [str(root / "a" / "one.wav"), str(root / "b" / "two.wav")]
    assert f"note: skipping {root / 'a' / 'notes.txt'}: not an audio file" in captured.err
    assert f"error: {root / 'b' / 'broken.wav'}:" in captured.err


def test_a_folder_without_audio_is_a_plain_error(tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.md").write_text("hello")
    assert main(["predict", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err
    assert "no audio files in this folder or below" in err and "Traceback" not in err


def test_models_lists_shipped_and_class_models(tmp_path, monkeypatch, capsys):
    import shutil

    from genre_model.checkpoint import WEIGHTS_ROOT
    monkeypatch.setenv("GENRE_MODELS_DIR", str(tmp_path))
    shutil.copytree(WEIGHTS_ROOT / "tabular-mlp", tmp_path / "our-class")
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    kinds = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
    assert kinds["default"] == "shipped" and kinds["our-class"] == "class model"
