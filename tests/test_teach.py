"""Teaching the default model a class's own clips: a new label is learned, the model is an ordinary
checkpoint, export/import round-trips, shipped models are never overwritten, bad input gets a
plain message, and ``python -m train --base default`` makes the same head as the app's button."""

import ast
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from genre_model import synth
from genre_model.audio import load_audio
from genre_model.checkpoint import available_models, load_checkpoint
from genre_model.predict import Classifier
from genre_model.teach import (ClassClip, TeachError, check_clips, check_label, check_model_name, embed_clip,
                               export_model, import_model, load_base, save_class_model, teach)
from tests.conftest import ROOT

SR = 16000


def chiptune(seconds: float, seed: int) -> np.ndarray:
    """A square-wave melody over a fast arpeggio: nothing like GTZAN."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    notes = 440 * 2 ** (rng.integers(-5, 8, size=int(seconds * 8) + 1) / 12)
    melody = 0.25 * np.sign(np.sin(2 * np.pi * notes[(t * 8).astype(int)] * t))
    arp = 0.15 * np.sign(np.sin(2 * np.pi * 110 * 2 ** ((t * 16).astype(int) % 3 * 4 / 12) * t))
    return (melody + arp).astype(np.float32)


def _clips(default: Classifier, label: str, make, seeds) -> list[ClassClip]:
    return [embed_clip(default.model, default.info, make(5.0, s), name=f"{label}-{s}.wav", label=label)
            for s in seeds]


@pytest.fixture(scope="module")
def taught(classifier):
    clips = (_clips(classifier, "chiptune", chiptune, range(5))
             + _clips(classifier, "classical", lambda sec, s: synth.tone(220 * (1 + s / 10), sec, sr=SR)
                      + synth.tone(330 * (1 + s / 10), sec, sr=SR), range(3)))
    return teach(classifier.model, classifier.info, load_base(classifier.model_dir), clips)


def test_a_new_label_is_learned_and_predicted_for_a_new_example(taught, classifier, tmp_path):
    assert taught.info.labels == sorted(classifier.labels + ["chiptune"])  # the ten genres stay
    assert taught.new_labels == ["chiptune"]
    assert taught.report.metrics.get("after").n == 8 and len(taught.report.clips) == 8
    save_class_model(taught, tmp_path / "ours")
    clf = Classifier(tmp_path / "ours", device="cpu")
    pred = clf.predict(synth.wav_bytes(chiptune(6.0, seed=99), SR))
    assert pred.genre() == "chiptune"
    assert abs(pred.probabilities.sum(axis=1) - 1).max() < 1e-4
    # the default model's "cannot judge" rules and quality layer come along; only the limits of
    # "unlike the training music" move, and only up
    base = Classifier("default", device="cpu").info.judgement
    moved = {"novelty_limit", "not_music_above"}
    assert {k: v for k, v in clf.info.judgement.items() if k not in moved} == {k: v for k, v in base.items() if k not in moved}
    assert all(clf.info.judgement[k] >= base[k] for k in moved)
    assert not np.isnan(pred.snr_db).any()
    card = (tmp_path / "ours" / "MODEL_CARD.md").read_text()
    assert "chiptune" in card and "class model" in card


def test_a_class_model_does_not_call_its_own_kind_of_music_unfamiliar(taught, classifier, tmp_path):
    """Chiptune sounds "unlike music" (tone-like) to the default model; the model the class taught
    with chiptune clips takes a new chiptune for what it is, and still flags what it never heard."""
    new_clip = synth.wav_bytes(chiptune(6.0, seed=123), SR)  # not one of the taught clips
    assert classifier.predict(new_clip).judgement().flags["unfamiliar"]
    save_class_model(taught, tmp_path / "ours")
    ours = Classifier(tmp_path / "ours", device="cpu")
    judged = ours.predict(new_clip).judgement()
    assert judged.genre == "chiptune" and not judged.flags["unfamiliar"]
    talk = ours.predict(synth.wav_bytes(synth.speech_like(6.0, sr=SR, seed=1), SR)).judgement()
    assert talk.cannot_judge


def test_the_quality_layer_is_the_base_models_exactly(taught, classifier):
    emb = torch.randn(6, taught.model.head.mean.numel()) * 2
    a, b = taught.model.head.judge(emb), classifier.model.head.judge(emb)
    assert torch.allclose(a["snr_db"], b["snr_db"], atol=1e-3) and torch.allclose(a["no_music"], b["no_music"], atol=1e-5)


def test_export_import_round_trip_and_shipped_names_are_guarded(taught, tmp_path):
    save_class_model(taught, tmp_path / "src" / "ours")
    data = export_model(tmp_path / "src" / "ours")
    root = tmp_path / "models"
    root.mkdir()
    target = import_model(data, root, "imported", reserved=set(available_models()))
    a, _ = load_checkpoint(tmp_path / "src" / "ours")
    b, _ = load_checkpoint(target)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    with pytest.raises(TeachError, match="already exists"):
        import_model(data, root, "imported", reserved=set())
    for shipped in available_models():
        with pytest.raises(TeachError, match="shipped model"):
            import_model(data, root, shipped, reserved=set(available_models()))
    with pytest.raises(TeachError, match="not an exported model"):
        import_model(b"PK\x03\x04 definitely not", root, "junk", reserved=set())
    assert sorted(p.name for p in root.iterdir()) == ["imported"]  # nothing half-imported left behind


@pytest.mark.parametrize("label, message", [
    ("", "empty"), ("x" * 31, "too long"), ("a/b", "cannot be a label"), ("..", "cannot be a label"),
    ("Rock", "clashes"),
])
def test_bad_labels_get_a_plain_message(label, message):
    with pytest.raises(TeachError, match=message):
        check_label(label, reserved={"rock", "k-pop"})
    assert check_label("  k-pop ", reserved={"k-pop"}) == "k-pop"


def test_too_few_or_duplicate_clips_are_refused():
    one = ClassClip("k1", "a.wav", "k-pop", np.zeros((1, 200), np.float32))
    with pytest.raises(TeachError, match="at least 3 clips"):
        check_clips([one, ClassClip("k2", "b.wav", "k-pop", one.clean)])
    with pytest.raises(TeachError, match="same audio"):
        check_clips([one, ClassClip("k1", "copy.wav", "k-pop", one.clean)])
    with pytest.raises(TeachError, match="no clips"):
        check_clips([])
    with pytest.raises(TeachError, match="shipped model"):
        check_model_name("default", reserved={"default"})
    with pytest.raises(TeachError, match="letters, digits"):
        check_model_name("my model", reserved=set())


@pytest.mark.slow
def test_the_train_command_makes_the_same_head_as_the_button(tmp_path, classifier):
    folder = tmp_path / "export"
    seeds = {"chiptune": range(3), "disco": range(3)}
    clips = []
    for label, ss in seeds.items():
        (folder / label).mkdir(parents=True)
        for s in ss:
            audio = chiptune(4.0, s) if label == "chiptune" else synth.music_like(4.0, sr=SR, seed=s, bpm=120)
            path = folder / label / f"{s:05d}-clip.flac"
            sf.write(path, audio, SR)
            # what the Teach page does: embed the stored audio as decoded from the collection
            clips.append(embed_clip(classifier.model, classifier.info, load_audio(path, sample_rate=SR).samples,
                                    name=path.name, label=label))
    button = teach(classifier.model, classifier.info, load_base(classifier.model_dir), clips)
    out = tmp_path / "cli-model"
    done = subprocess.run([sys.executable, "-m", "train", "--arch", "musicnn-head", "--base", "default", "--data",
                           str(folder), "--out", str(out), "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    cli, info = load_checkpoint(out)
    assert info.labels == button.info.labels
    for key, value in button.model.head.state_dict().items():
        assert torch.allclose(cli.head.state_dict()[key], value, atol=1e-5), key
    assert json.loads((out / "eval_report.json").read_text())["kind"] == "class model"


def test_the_app_imports_nothing_from_train():
    """What the app and train/ share lives in genre_model/ (issue #11)."""
    files = [ROOT / "streamlit_app.py", *sorted((ROOT / "webapp").glob("*.py")), *sorted((ROOT / "pages").glob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name == "train" or a.name.startswith("train.") for a in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").split(".")[0] == "train", path
    code = ("import sys, importlib, pathlib; "
            "[importlib.import_module('webapp.' + p.stem) for p in pathlib.Path('webapp').glob('*.py')]; "
            "print(sorted(m for m in sys.modules if m == 'train' or m.startswith('train.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_an_interrupted_save_leaves_the_old_model_usable(taught, tmp_path, monkeypatch):
    """Saving stages the new model and swaps it in by renaming: a failure mid-write changes nothing."""
    from genre_model.teach import store
    from webapp.teach import save_class_model as app_save
    monkeypatch.setenv("GENRE_MODELS_DIR", str(tmp_path))
    first = app_save(taught, "ours")
    before = (first / "model.safetensors").read_bytes()

    def broken(model, info, directory):
        directory.mkdir(parents=True)
        (directory / "model.safetensors").write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(store, "save_checkpoint", broken)
    with pytest.raises(OSError):
        app_save(taught, "ours", replace=True)
    assert (first / "model.safetensors").read_bytes() == before
    assert Classifier(first, device="cpu").labels == taught.info.labels
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours"]  # no half-written folders left
