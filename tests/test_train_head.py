"""The head-training recipe end to end on a small generated dataset, and reload through genre_model."""

import json

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth
from genre_model.predict import Classifier
from train.musicnn_head import main
from train.splits import stratified_folds


@pytest.fixture
def tiny_dataset(tmp_path):
    root = tmp_path / "data"
    for label, bpm in (("fast", 170), ("slow", 70)):
        (root / label).mkdir(parents=True)
        for i in range(3):
            sf.write(root / label / f"{label}.{i:05d}.wav", synth.music_like(4.0, sr=22050, seed=i, bpm=bpm), 22050)
    (root / "slow" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return root


def test_recipe_trains_evaluates_and_saves_a_loadable_model(tmp_path, tiny_dataset, capsys):
    out = tmp_path / "model"
    code = main(["--data", str(tiny_dataset), "--out", str(out), "--backbone-from", "default",
                 "--folds", "3", "--mic-copies", "1", "--cache", str(tmp_path / "cache")])
    assert code == 0
    report = json.loads((out / "eval_report.json").read_text())
    assert report["labels"] == ["fast", "slow"]
    assert sorted(c["path"] for c in report["clips"]) == sorted(
        f"{l}/{l}.{i:05d}.wav" for l in ("fast", "slow") for i in range(3))
    assert report["skipped"] == [{"path": "slow/broken.wav", "error": report["skipped"][0]["error"]}]
    assert {"clean", "simulated_mic"} <= set(report["metrics"])
    assert "warning: skipping slow/broken.wav" in capsys.readouterr().err
    assert (out / "MODEL_CARD.md").read_text().count("out of fold") >= 1
    clf = Classifier(out, device="cpu")
    assert clf.labels == ["fast", "slow"]
    pred = clf.predict(tiny_dataset / "fast" / "fast.00000.wav")
    assert pred.probabilities.shape[1] == 2


def test_second_run_uses_the_cache(tmp_path, tiny_dataset):
    args = ["--data", str(tiny_dataset), "--backbone-from", "default", "--folds", "3", "--mic-copies", "1",
            "--cache", str(tmp_path / "cache")]
    main(args + ["--out", str(tmp_path / "a")])
    files = sorted((tmp_path / "cache" / "embeddings").iterdir())
    stamps = [f.stat().st_mtime_ns for f in files]
    main(args + ["--out", str(tmp_path / "b")])
    assert [f.stat().st_mtime_ns for f in sorted((tmp_path / "cache" / "embeddings").iterdir())] == stamps
    a = json.loads((tmp_path / "a" / "eval_report.json").read_text())["clips"]
    b = json.loads((tmp_path / "b" / "eval_report.json").read_text())["clips"]
    assert a == b


def test_folds_are_stratified_and_keep_clips_whole():
    labels = ["x"] * 8 + ["y"] * 8 + ["z"] * 3
    folds = stratified_folds(labels, 4, seed=0)
    for f in range(4):
        members = [l for l, k in zip(labels, folds) if k == f]
        assert members.count("x") == 2 and members.count("y") == 2
    assert len(folds) == len(labels)  # one fold per clip: a clip's chunks cannot straddle folds
