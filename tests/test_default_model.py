"""The shipped default model against the real data (skipped without ../shared/data)."""

import json
from pathlib import Path

import pytest

from genre_model.checkpoint import WEIGHTS_ROOT, read_info
from tests.conftest import EXCERPTS, needs_shared_data
from train.data import file_sha256, find_clips, fingerprint
from train.musicnn_head import DEFAULT_CACHE, Recipe, cross_validate, extract, load_backbone, summarize

DEFAULT = WEIGHTS_ROOT / "default"
REPORT = json.loads((DEFAULT / "eval_report.json").read_text())


def test_model_card_and_report_are_shipped():
    card = (DEFAULT / "MODEL_CARD.md").read_text()
    for needed in ("out of fold", "95% Wilson", "share artists", "ISC", "Seed", "simulated microphone"):
        assert needed.lower() in card.lower(), needed
    info = read_info(DEFAULT)
    assert info.metrics["accuracy_clean"] == REPORT["metrics"]["clean"]["accuracy"]


@needs_shared_data
def test_report_covers_every_excerpt_and_matches_the_data():
    clips = find_clips(EXCERPTS)
    assert len(clips) == 80
    assert sorted(c["path"] for c in REPORT["clips"]) == sorted(c.relpath for c in clips)
    hashes = {c.relpath: file_sha256(c.path) for c in clips}
    assert fingerprint(clips, hashes) == read_info(DEFAULT).training_data["fingerprint"]


@needs_shared_data
@pytest.mark.slow
def test_out_of_fold_accuracy_of_the_recipe_is_reproduced():
    recipe = Recipe(**{k: REPORT["recipe"][k] for k in Recipe.__dataclass_fields__})
    clips = find_clips(EXCERPTS)
    extraction = extract(clips, load_backbone(checkpoint=str(DEFAULT)), recipe, DEFAULT_CACHE, progress=False)
    assert not extraction.skipped
    metrics = summarize(cross_validate(extraction.items, REPORT["labels"], recipe), REPORT["labels"])
    assert metrics["clean"]["accuracy"] >= 0.85
    assert metrics["clean"]["accuracy"] == pytest.approx(REPORT["metrics"]["clean"]["accuracy"], abs=0.0126)
    assert metrics["simulated_mic"]["accuracy"] == pytest.approx(REPORT["metrics"]["simulated_mic"]["accuracy"], abs=0.0126)
