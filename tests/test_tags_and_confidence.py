"""What the backbone hears (its Million Song Dataset tags), weighing them against the head, per-genre
recall with intervals, and confidence that accounts for how much audio there is."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from genre_model import synth
from genre_model.judgement import Evidence, Rules, assess
from genre_model.metrics import recall_interval
from genre_model.models.musicnn import MusicnnGenre
from genre_model.tags import GENRE_TAGS, MSD_TAGS, tag_matrix, top_tags, zero_shot
from tests.conftest import GENRES, ROOT, needs_shared_data


def test_the_tag_map_covers_exactly_the_genres_it_names():
    m = tag_matrix(list(GENRES))
    tagged = {g for g, row in zip(GENRES, m) if row.any()}
    assert tagged == set(GENRE_TAGS) and {"classical", "reggae"}.isdisjoint(tagged)
    for g, tags in GENRE_TAGS.items():
        assert {MSD_TAGS[j] for j in np.flatnonzero(m[GENRES.index(g)])} == set(tags)
    # a genre whose tags all fire scores near 0 (log 1), one whose tags are silent far below
    t = np.zeros((1, len(MSD_TAGS)), np.float32)
    t[0, MSD_TAGS.index("jazz")] = 0.99
    zs = zero_shot(t, m)[0]
    assert zs[GENRES.index("jazz")] > -0.05 and zs[GENRES.index("rock")] < -5
    assert zs[GENRES.index("classical")] == 0 and zs[GENRES.index("reggae")] == 0


def test_the_tag_prior_leaves_the_untagged_genres_to_the_head():
    torch.manual_seed(0)
    plain = MusicnnGenre(n_genres=10, bank_size=8).eval()
    weighed = MusicnnGenre(n_genres=10, bank_size=8, tag_prior=True).eval()
    weighed.load_state_dict(plain.state_dict() | {"prior_map": torch.as_tensor(tag_matrix(list(GENRES))),
                                                  "prior_weight": torch.full((10,), 2.0),
                                                  "prior_bias": torch.zeros(10)}, strict=True)
    x = torch.randn(3, 187, 96)
    with torch.inference_mode():
        a, b = plain.judge(x), weighed.judge(x)
    untagged = [GENRES.index("classical"), GENRES.index("reggae")]
    assert torch.allclose(a["logits"][:, untagged], b["logits"][:, untagged])  # the head alone decides them
    assert not torch.allclose(a["logits"], b["logits"])  # the tagged ones are weighed
    assert torch.allclose(a["tags"], b["tags"]) and a["tags"].shape == (3, 50)


def test_top_tags_are_sorted_plain_words_in_range():
    scores = np.linspace(0, 1, 50)
    hears = top_tags(scores)
    assert [h["tag"] for h in hears] == [MSD_TAGS[i].lower() for i in (49, 48, 47, 46, 45)]
    assert all(0 <= h["score"] <= 1 for h in hears) and [h["score"] for h in hears] == sorted(
        (h["score"] for h in hears), reverse=True)


def test_the_cli_json_says_what_the_model_hears(tmp_path, capsys):
    from genre_model.__main__ import main
    path = tmp_path / "song.wav"
    path.write_bytes(synth.wav_bytes(synth.music_like(8.0, sr=22050, seed=3), 22050))
    assert main(["predict", str(path), "--json"]) == 0
    hears = json.loads(capsys.readouterr().out)["hears"]
    assert len(hears) == 5 and {h["tag"] for h in hears} <= {t.lower() for t in MSD_TAGS}
    assert all(0 <= h["score"] <= 1 for h in hears) and hears == sorted(hears, key=lambda h: -h["score"])


def test_classify_shows_what_the_model_hears(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "collection.sqlite"))
    monkeypatch.setenv("GENRE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.file_uploader(key="uploads").set_value(("song.wav", synth.wav_bytes(synth.music_like(8.0, sr=22050), 22050),
                                               "audio/wav"))
    at.run()
    assert not at.exception, at.exception
    heard = [m.value for m in at.markdown if m.value.startswith("**The model hears:**")]
    assert heard and len(heard[0].split(":** ", 1)[1].split(", ")) == 5


def test_the_unsure_limit_is_stricter_for_shorter_audio():
    rules = Rules(unsure_below=0.35, unsure_below_short=0.6, short_seconds=3.0, min_sure_seconds=2.0)

    def unsure(top: float, seconds: float) -> bool:
        scores = np.array([top] + [(1 - top) / 3] * 3)
        return assess(["rock", "pop", "jazz", "metal"], Evidence(scores, seconds=seconds), rules).flags["unsure"]

    assert unsure(0.84, 1.0)                                  # ROCK 84% on 1 s: too short to be sure
    assert not unsure(0.84, 2.5) and unsure(0.5, 2.5)         # a 2-3 s snippet needs 60%
    assert not unsure(0.5, 30.0) and unsure(0.3, 30.0)        # 30 s needs 35%
    one_second = assess(["rock", "pop"], Evidence(np.array([0.84, 0.16]), seconds=1.0), rules)
    assert "Too short to be sure" in one_second.advice[0]
    assert rules.unsure_limit(2.5) > rules.unsure_limit(30.0) and rules.unsure_limit(math.nan) == 0.35


def test_a_one_second_clip_is_unsure_and_the_same_music_at_30_s_is_not(classifier):
    music = synth.music_like(30.0, sr=classifier.sample_rate, seed=5)
    long = classifier.predict(synth.wav_bytes(music, classifier.sample_rate))
    short = classifier.predict(synth.wav_bytes(music[: classifier.sample_rate], classifier.sample_rate))
    assert long.judgement().confidence >= classifier.rules.unsure_below  # the model is sure of the whole piece
    assert not long.flags()["unsure"]
    assert short.flags()["unsure"] and any("Too short to be sure" in a for a in short.advice())


@needs_shared_data
def test_per_genre_recall_recomputed_from_the_shipped_report():
    report = json.loads((ROOT / "weights" / "default" / "eval_report.json").read_text())
    m = report["metrics"]["clean"]
    for i, g in enumerate(report["labels"]):
        clips = [c for c in report["clips"] if c["label"] == g]
        right = sum(c["predicted"] == g for c in clips)
        assert m["per_genre"][g]["support"] == len(clips)
        assert m["per_genre"][g]["recall"] == pytest.approx(right / len(clips), abs=1e-4)
        assert m["per_genre"][g]["recall_ci95"] == recall_interval(m["confusion"], i)
        lo, hi = m["per_genre"][g]["recall_ci95"]
        assert lo <= right / len(clips) <= hi


def test_talk_is_told_from_music_and_from_music_with_a_voice_over_it(classifier):
    """Generated talk (voices the quality layer never trained on) is "mostly talk"; the same music
    alone, or with a voice over it 6 dB down (like a singer), stays music, and the advice for talk
    says there is no genre to name before it asks (only if music is playing) to turn the music up."""
    sr = classifier.sample_rate
    for seed in (0, 1):
        speech = synth.speech_like(10.0, sr=sr, seed=70 + seed)
        music = synth.music_like(10.0, sr=sr, seed=seed)
        voice = speech / np.sqrt(np.mean(speech ** 2)) * np.sqrt(np.mean(music ** 2)) * 10 ** (-6 / 20)
        talk = classifier.predict(synth.wav_bytes(speech, sr))
        assert talk.flags()["no_music"] and talk.to_dict()["quality"]["status"] == "no_music"
        assert talk.judgement().headline.startswith("Can't judge: mostly talk")
        advice = talk.advice()[0]  # talk first; turning music up only if some is playing
        assert advice.startswith("This sounds like talk") and "no genre to name" in advice
        assert "turn the music up" not in advice.split("If music is playing")[0]
        for y in (music, music + voice):
            assert not classifier.predict(synth.wav_bytes(y.astype(np.float32), sr)).flags()["no_music"]
