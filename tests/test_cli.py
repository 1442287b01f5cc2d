import json
import subprocess
import sys

import pytest

from genre_model.__main__ import main
from genre_model.labels import GENRES


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
