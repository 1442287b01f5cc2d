"""``python -m train`` end to end on small generated datasets: every architecture trains for a
short run and reloads through genre_model; bad files are skipped and counted; splits never put a
clip on two sides; the report keeps its schema; the feature cache is hit; a killed run resumes to
the same weights; two DDP processes agree."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth
from genre_model.predict import Classifier
from genre_model.tabular import COLUMNS, tabular_features
from tests.conftest import ROOT
from tests.figures import FIGURES
from train.__main__ import ARCHS, build_parser, main
from train.sources import open_source
from train.splits import holdout_plan, kfold_plan

SR = 22050
LABELS = ("drums", "hum", "noise")
# What every eval_report.json holds (README, "Evaluation report"); the app's pages read these.
REPORT_KEYS = {"model", "arch", "labels", "split", "seed", "recipe", "data_root", "fingerprint", "metrics", "clips",
               "skipped", "command", "code_version", "timings_s", "cpu_seconds_per_30s_clip"}
CLIP_KEYS = {"path", "label", "fold", "predicted", "confidence", "probabilities", "chunks"}


def _clip(label: str, i: int, seconds: float = 4.0) -> np.ndarray:
    if label == "drums":
        return synth.drum_pattern(seconds, sr=SR, bpm=90 + 20 * i, seed=i)
    if label == "hum":
        return synth.tone(110.0 * (1 + 0.05 * i), seconds, sr=SR) + synth.tone(220.0, seconds, sr=SR, amplitude=0.1)
    return synth.noise(seconds, sr=SR, seed=i)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """3 labels x 5 clips of 4 s, plus one corrupt file."""
    root = tmp_path_factory.mktemp("train_data")
    for label in LABELS:
        (root / label).mkdir()
        for i in range(5):
            sf.write(root / label / f"{label}.{i:05d}.wav", _clip(label, i).astype(np.float32), SR)
    (root / "noise" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return root


def _train(dataset: Path, out: Path, arch: str, *extra: str) -> dict:
    code = main(["--data", str(dataset), "--arch", arch, "--out", str(out), "--epochs", "1", "--folds", "3",
                 "--aug-copies", "1", "--augment", "specaugment,gain,noise,micsim,room", "--no-progress",
                 "--background-clips", "2", "--cache", str(out.parent / "cache"), *extra])
    assert code == 0
    return json.loads((out / "eval_report.json").read_text())


def _check_report(report: dict, dataset: Path, arch: str) -> None:
    assert REPORT_KEYS <= set(report), REPORT_KEYS - set(report)
    assert report["arch"] == arch
    for clip in report["clips"]:
        assert CLIP_KEYS <= set(clip)
        assert not Path(clip["path"]).is_absolute() and (dataset / clip["path"]).is_file()
        assert len(clip["probabilities"]) == len(report["labels"])
        assert all(len(c["probabilities"]) == len(report["labels"]) for c in clip["chunks"])
    m = report["metrics"]["clean"]
    assert m["n"] == len(report["clips"]) and len(m["accuracy_ci95"]) == 2
    assert set(m["per_genre"]) == set(report["labels"]) and len(m["confusion"]) == len(report["labels"])


def test_help_lists_every_architecture_and_option():
    text = build_parser().format_help()
    for arch in ARCHS:
        assert arch in text
    for option in ("--data", "--arch", "--out", "--config", "--seed", "--device", "--split", "--folds",
                   "--split-files", "--epochs", "--patience", "--augment", "--resume", "--cache", "--weight-decay"):
        assert option in text


@pytest.mark.parametrize("arch", ["cnn", "crnn-gru", "crnn-lstm", "mfcc5-cnn"])
def test_every_audio_architecture_trains_and_reloads(tmp_path, dataset, arch, capsys):
    out = tmp_path / arch
    report = _train(dataset, out, arch)
    _check_report(report, dataset, arch)
    assert len(report["clips"]) == 15 and report["labels"] == list(LABELS)
    # the corrupt file is skipped with a warning, counted, and did not stop the run
    assert report["n_skipped"] == 1 and report["skipped"][0]["path"] == "noise/broken.wav"
    assert "warning: skipping noise/broken.wav" in capsys.readouterr().err
    assert set(report["curves"]) == {"fold0", "fold1", "fold2", "final"}
    assert (out / "curves.png").stat().st_size > 1000 and (out / "MODEL_CARD.md").is_file()
    assert {"reference_mic", "noisy_room"} <= set(report["metrics"])
    assert report["judgement"]["calibration"]["temperature"] > 0
    clf = Classifier(out, device="cpu")
    assert clf.labels == list(LABELS) and clf.info.arch == arch
    pred = clf.predict(dataset / "hum" / "hum.00001.wav")
    assert pred.probabilities.shape == (2, 3)
    assert np.allclose(pred.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.isfinite(pred.novelty).all() and np.isfinite(pred.snr_db).all()  # the quality layer was trained


def _write_table(path: Path, rows: list[tuple[str, str, np.ndarray]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "length", *COLUMNS, "label"])
        for name, label, values in rows:
            writer.writerow([name, 66150, *values, label])


def test_tabular_mlp_trains_on_a_feature_table_and_classifies_audio(tmp_path, dataset):
    rows = [(f"{label}.{i:05d}.wav", label, tabular_features(_clip(label, i).astype(np.float32)))
            for label in LABELS for i in range(5)]
    rows.append(("bad.00000.wav", "noise", np.full(len(COLUMNS), np.nan)))
    table = tmp_path / "features.csv"
    _write_table(table, rows)
    out = tmp_path / "tab"
    code = main(["--data", str(table), "--arch", "tabular-mlp", "--out", str(out), "--epochs", "30",
                 "--split", "holdout", "--val-fraction", "0.2", "--no-progress", "--eval-data", str(dataset)])
    assert code == 0
    report = json.loads((out / "eval_report.json").read_text())
    assert report["n_skipped"] == 1 and report["recipe"]["augment"] == ""
    assert len(report["clips"]) == 3 and (out / "last" / "model.safetensors").is_file()  # the validation clips
    ext = report["external_eval"]
    assert ext["all"]["n"] == 15 and ext["n_seen_in_training"] == 12 and ext["sides"] == {"train": 12, "valid": 3}
    # the same clips through our own extractor: the features match the table, so the model agrees
    assert ext["all"]["accuracy"] >= 0.8
    assert Classifier(out, device="cpu").predict(dataset / "drums" / "drums.00002.wav").genre() == "drums"


def test_a_second_run_reads_every_feature_from_the_cache(tmp_path, dataset):
    first = _train(dataset, tmp_path / "a", "cnn")
    second = _train(dataset, tmp_path / "b", "cnn")
    sets = 15 * 7  # clean, 5 held-out listening conditions and 1 augmented copy per clip
    assert first["extracted_sets"]["computed"] == sets and first["extracted_sets"]["cached"] == 0
    assert second["extracted_sets"] == {"computed": 0, "cached": sets}
    speedup = first["timings_s"]["extract"] / max(second["timings_s"]["extract"], 0.01)
    FIGURES.append(f"train feature cache: extraction {first['timings_s']['extract']} s -> "
                   f"{second['timings_s']['extract']} s on the re-run ({speedup:.0f}x)")
    assert [c["probabilities"] for c in first["clips"]] == [c["probabilities"] for c in second["clips"]]


def test_config_file_sets_options_and_the_command_line_overrides(tmp_path, dataset):
    config = tmp_path / "run.toml"
    config.write_text(f'data = "{dataset}"\narch = "cnn"\nepochs = 1\nfolds = 3\nseed = 7\n'
                      f'augment = "none"\nweight-decay = 0.01\ncache = "{tmp_path / "cache"}"\n')
    assert main(["--config", str(config), "--out", str(tmp_path / "m"), "--seed", "3", "--no-progress"]) == 0
    report = json.loads((tmp_path / "m" / "eval_report.json").read_text())
    assert report["seed"] == 3 and report["recipe"]["weight_decay"] == 0.01 and report["recipe"]["augment"] == ""
    config.write_text("epocs = 3\n")
    with pytest.raises(SystemExit):
        main(["--config", str(config), "--data", str(dataset), "--arch", "cnn", "--out", str(tmp_path / "n")])


def test_a_manifest_names_clips_and_labels(tmp_path, dataset):
    manifest = dataset / "manifest.csv"
    manifest.write_text("path,label\nhum/hum.00000.wav,hum\nnoise/noise.00001.wav,noise\n,hum\nhum/notes.txt,hum\n")
    try:
        source = open_source(manifest)
    finally:
        manifest.unlink()
    assert [(c.relpath, c.label) for c in source.clips] == [("hum/hum.00000.wav", "hum"), ("noise/noise.00001.wav", "noise")]
    assert len(source.problems) == 2


def _sides(stage) -> list[set]:
    return [set(stage.train), set(stage.val), set(stage.test)]


def test_no_clip_is_on_two_sides_of_any_split():
    labels = ["a"] * 9 + ["b"] * 7 + ["c"] * 4
    plan = kfold_plan(labels, 4, seed=1)
    assert sorted(i for s in plan.stages for i in s.test) == list(range(len(labels)))  # each clip tested once
    for stage in plan.stages + holdout_plan(labels, 0.25, seed=1).stages:
        train, val, test = _sides(stage)
        assert not (train & val) and not (train & test)
        assert val != test or stage.name == "holdout"


def _weights(out: Path) -> dict:
    from safetensors.numpy import load_file
    return load_file(str(out / "model.safetensors"))


def _train_command(dataset: Path, out: Path, cache: Path, epochs: int) -> list[str]:
    return [sys.executable, "-m", "train", "--data", str(dataset), "--arch", "cnn", "--out", str(out),
            "--epochs", str(epochs), "--patience", "50", "--folds", "3", "--aug-copies", "1", "--no-progress",
            "--background-clips", "2", "--cache", str(cache)]


def test_a_killed_training_run_resumes_to_the_same_weights(tmp_path, dataset):
    """Issue #5: SIGKILL ``python -m train`` mid-run, then ``--resume``: same model as an uninterrupted run."""
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    whole = subprocess.run(_train_command(dataset, tmp_path / "whole", cache, 6), cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr[-2000:]
    out = tmp_path / "cut"
    proc = subprocess.Popen(_train_command(dataset, out, cache, 6), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "run" / "fold1" / "train_state.pt"  # killed in the second fold, after some epochs
    deadline = time.time() + 300
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert state.exists() and not (out / "model.safetensors").exists(), "the run was not cut mid-way"
    resumed = subprocess.run(_train_command(dataset, out, cache, 6) + ["--resume"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = _weights(tmp_path / "whole"), _weights(out)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    ra = json.loads((tmp_path / "whole" / "eval_report.json").read_text())
    rb = json.loads((out / "eval_report.json").read_text())
    assert ra["clips"] == rb["clips"] and ra["curves"] == rb["curves"]
    FIGURES.append("train resume: SIGKILL in fold 1 of 3, --resume -> weights and report identical to an uninterrupted run")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_ddp_run_agrees_on_the_weights(tmp_path, dataset):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "train",
           "--data", str(dataset), "--arch", "cnn", "--out", str(out), "--epochs", "2", "--folds", "3",
           "--device", "cpu", "--aug-copies", "1", "--no-progress", "--background-clips", "2",
           "--cache", str(tmp_path / "cache")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    dist = json.loads((out / "eval_report.json").read_text())["distributed"]
    assert dist["world_size"] == 2 and dist["backend"] == "gloo"
    assert dist["ranks_agree"] and len(set(dist["weights_sha256_per_rank"])) == 1
    assert Classifier(out, device="cpu").labels == list(LABELS)
    FIGURES.append(f"train DDP: 2 gloo processes, final weights sha256 {dist['weights_sha256_per_rank'][0][:12]} on both ranks")
