"""The shipped default model: its card and report lead with honest numbers, its held-out accuracy is
recomputed from the shipped training embeddings, it never trained on the split's test part, and
(with ../shared/data) the shipped embeddings are those of the real audio."""

import json

import numpy as np
import pytest
import torch

from genre_model.checkpoint import WEIGHTS_ROOT, read_info
from genre_model.datasets import artist_group, find_clips_in, read_artists
from genre_model.fitting import clip_weights, fit_head, softmax
from genre_model.teach import load_base
from tests.conftest import SHARED_DATA, needs_shared_data

DEFAULT = WEIGHTS_ROOT / "default"
REPORT = json.loads((DEFAULT / "eval_report.json").read_text())
FOLDERS = [SHARED_DATA / name for name in ("gtzan_excerpts", "gtzan_snippets", "gtzan_full")]


def test_card_and_report_lead_with_the_artist_grouped_evaluation():
    card = (DEFAULT / "MODEL_CARD.md").read_text()
    headline = card.index("## Headline")
    assert "artist-grouped" in card[headline:headline + 200]
    assert card.index("**optimistic**") > headline  # the same-artist figure only after, and labelled
    for needed in ("95% Wilson", "Temperature", "ISC", "noisy classroom", "confidently wrong", "## Targets"):
        assert needed in card, needed
    info = read_info(DEFAULT)
    assert REPORT["split"].startswith("5-fold artist-grouped")
    assert info.metrics["accuracy_clean"] == REPORT["metrics"]["clean"]["accuracy"]
    assert info.judgement == REPORT["judgement"]["rules"]
    m = REPORT["metrics"]["clean"]
    assert m["n"] >= 300 and len(m["accuracy_ci95"]) == 2
    # calibration helped on held-out artists
    ece = REPORT["judgement"]["calibration"]["ece"]
    assert ece["after"]["clip_ece"] <= ece["before"]["clip_ece"] + 0.01


def test_no_evaluated_or_training_clip_is_in_the_split_test_part():
    excluded = set(REPORT["pool"]["excluded"]["test_part"]["ids"])
    base = load_base(DEFAULT)
    assert excluded and not excluded & set(base.clips.tolist())
    assert not excluded & {c["clip_id"] for c in REPORT["clips"]}


def test_artist_grouped_accuracy_is_recomputed_from_the_shipped_embeddings():
    """The headline clean accuracy, refitted fold by fold from weights/default/teach_base.npz."""
    base = load_base(DEFAULT)
    fold_of = {c["path"]: c["fold"] for c in REPORT["clips"]}
    genres = REPORT["labels"]
    recipe = REPORT["recipe"]
    files = np.unique(base.files)
    assert set(files) == set(fold_of)
    correct = []
    for fold in sorted(set(fold_of.values())):
        test = {f for f in files if fold_of[f] == fold}
        train = np.array([f not in test for f in base.files])
        assert not set(base.groups[train]) & {g for f, g in zip(base.files, base.groups) if f in test}
        head = fit_head(base.x[train], np.array([genres.index(l) for l in base.labels[train]]), len(genres),
                        weights=clip_weights(base.labels[train].tolist(), base.clips[train].tolist()),
                        groups=base.clips[train], l2=recipe["l2"], seed=recipe["seed"])
        for f in test:
            rows = (base.files == f) & (base.variants == "clean")
            with torch.inference_mode():
                p = softmax(head(torch.as_tensor(base.x[rows])).numpy()).mean(axis=0)
            correct.append(genres[int(p.argmax())] == base.labels[rows][0])
    assert len(correct) == REPORT["metrics"]["clean"]["n"]
    # the shipped rows are float16: a clip or two may flip
    assert np.mean(correct) == pytest.approx(REPORT["metrics"]["clean"]["accuracy"], abs=0.011)


@needs_shared_data
def test_the_shipped_embeddings_are_those_of_the_real_audio():
    from genre_model.audio import load_audio
    from genre_model.predict import Classifier
    from train.data import file_sha256, fingerprint
    from train.embeddings import layer_from_pooled, pooled_chunks
    from train.pool import build_pool
    pool = build_pool(find_clips_in(FOLDERS), split_dir=SHARED_DATA / "gtzan_splits",
                      artists_file=SHARED_DATA / "gtzan_artists.txt")
    assert sorted(c.relpath for c in pool.clips) == sorted(c["path"] for c in REPORT["clips"])
    assert fingerprint(pool.clips, {c.relpath: file_sha256(c.path) for c in pool.clips}) == REPORT["fingerprint"]
    artists = read_artists(SHARED_DATA / "gtzan_artists.txt")
    assert all(c["artist"] == artists.get(c["clip_id"], "") for c in REPORT["clips"])
    base = load_base(DEFAULT)
    clf = Classifier(DEFAULT, device="cpu")
    mel = clf.info.mel_params
    for clip in pool.clips[::40]:  # ten files from every folder
        audio = load_audio(clip.path, sample_rate=mel.sample_rate).samples
        pooled, _, _ = pooled_chunks(clf.model.backbone, audio, mel=mel, chunk_seconds=3.0, hop_seconds=1.5)
        emb = layer_from_pooled(clf.model.backbone, pooled, clf.info.arch_params.get("layer", "penultimate"))
        shipped = base.x[(base.files == clip.relpath) & (base.variants == "clean")]
        assert shipped.shape == emb.shape and np.abs(shipped - emb).max() < 0.02 * (1 + np.abs(emb).max())
        assert artist_group(clip.clip_id, artists) == base.groups[base.files == clip.relpath][0]
