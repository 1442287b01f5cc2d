"""The default model's recipe end to end on a small generated dataset: several folders, an artist
index and split lists; artist-grouped evaluation, calibration, quality layer, rules, report, card,
the shipped training rows for the Teach page, and the embedding cache."""

import json

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth
from genre_model.predict import Classifier
from genre_model.model_dir import TEACH_BASE_FILE
from genre_model.teach import load_base
from train.__main__ import main

SR = 22050


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two folders ('long' 4 s clips, ids 0-4; 'short' 2 s cuts of ids 3-7), 2 labels, 2 clips
    per artist, id 7 in the split's test part, a corrupt file."""
    root = tmp_path_factory.mktemp("tiny")
    lines, sides = [], {"train": [], "valid": [], "test": []}
    for label, bpm in (("fast", 170), ("slow", 70)):
        for folder, ids, seconds in (("long", range(5), 4.0), ("short", range(3, 8), 2.0)):
            (root / folder / label).mkdir(parents=True, exist_ok=True)
            for i in ids:
                sf.write(root / folder / label / f"{label}.{i:05d}.wav",
                         synth.music_like(seconds, sr=SR, seed=i, bpm=bpm + 3 * i), SR)
        for i in range(8):
            lines.append(f"{label}.{i:05d}.wav ::: {label} artist {i // 2} ::: x")
            sides["test" if i == 7 else "valid" if i in (2, 3) else "train"].append(f"{label}/{label}.{i:05d}")
    (root / "long" / "slow" / "slow.00008.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")  # a corrupt clip
    sides["train"].append("slow/slow.00008")
    (root / "artists.txt").write_text("\n".join(lines))
    (root / "splits").mkdir()
    for side, ids in sides.items():
        (root / "splits" / f"{side}_filtered.txt").write_text("\n".join(ids))
    return root


def _run(tiny, out, cache) -> dict:
    code = main(["--arch", "musicnn-head", "--data", str(tiny / "long"), str(tiny / "short"), "--out", str(out),
                 "--artists", str(tiny / "artists.txt"), "--split-files", str(tiny / "splits"),
                 "--backbone-from", "default", "--folds", "3", "--mic-copies", "1", "--room-copies", "1",
                 "--background-clips", "4", "--cache", str(cache), "--no-progress"])
    assert code == 0
    return json.loads((out / "eval_report.json").read_text())


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    return out, _run(tiny, out, out.parent / "cache")


def test_recipe_reports_honest_evaluations_and_saves_a_loadable_model(tiny, trained, capsys):
    out, report = trained
    assert report["labels"] == ["fast", "slow"]
    # ids 0-6 of each label: id 7 is in the split's test part and never used, the corrupt file is skipped
    assert sorted(c["clip_id"] for c in report["clips"]) == sorted(
        [f"{l}.{i:05d}" for l in ("fast", "slow") for i in range(5)] + [f"{l}.{i:05d}" for l in ("fast", "slow")
                                                                        for i in range(3, 7)])
    assert report["pool"]["excluded"]["test_part"]["n"] == 2
    assert [s["path"] for s in report["skipped"]] == ["long/slow/slow.00008.wav"]
    assert set(report["evaluations"]) == {"artist_kfold", "split", "same_artist_kfold"}
    assert "artist-grouped" in report["split"] and report["clips"][0]["artist"]
    for clip in report["clips"]:  # every held-out clip is scored in the rooms too
        assert {"eval-room-0-5", "eval-room-5-10", "eval-room-10-15", "eval-mic", "reference"} <= set(clip["conditions"])
    m = report["metrics"]
    assert {"clean", "noisy_room", "reference_mic", "chunks_clean"} <= set(m) and "confidently_wrong" in m["clean"]
    cal = report["judgement"]["calibration"]
    assert cal["temperature"] > 0 and {"before", "after"} == set(cal["ece"])
    card = (out / "MODEL_CARD.md").read_text()
    for needed in ("artist-grouped", "95% Wilson", "optimistic", "Temperature", "ISC", "noisy classroom"):
        assert needed in card, needed
    clf = Classifier(out, device="cpu")
    assert clf.labels == ["fast", "slow"] and clf.rules.novelty_limit == report["judgement"]["rules"]["novelty_limit"]
    pred = clf.predict(tiny / "long" / "fast" / "fast.00000.wav")
    assert pred.probabilities.shape[1] == 2 and not np.isnan(pred.snr_db).any()
    base = load_base(out)
    assert (out / TEACH_BASE_FILE).stat().st_size < 2_000_000
    assert set(base.labels) == {"fast", "slow"} and len(base.x) == len(base.clips)


def test_second_run_uses_the_cache(tiny, trained):
    out, first = trained
    second = _run(tiny, out.parent / "again", out.parent / "cache")
    assert second["extracted_sets"]["computed"] == 0 and second["extracted_sets"]["cached"] > 0
    assert [c["probabilities"] for c in first["clips"]] == [c["probabilities"] for c in second["clips"]]
