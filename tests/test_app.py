"""The Streamlit app through streamlit.testing (no browser)."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from genre_model import synth
from tests.conftest import EXCERPTS, ROOT, needs_shared_data

APP = str(ROOT / "streamlit_app.py")
PAGES = ["pages/classify.py", "pages/explore.py", "pages/compare.py", "pages/how_it_works.py"]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "collection.sqlite"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _music(seed=0, seconds=8.0) -> bytes:
    return synth.wav_bytes(synth.music_like(seconds, sr=22050, seed=seed), 22050)


def _texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
                     + [i.value for i in at.info] + [c.value for c in at.caption])


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_input(app, page):
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    assert app.title, f"{page} has no title"


def test_upload_shows_verdict_timeline_and_downloads(app):
    app.file_uploader(key="uploads").set_value(("song.wav", _music(), "audio/wav"))
    app.run()
    assert not app.exception, app.exception
    text = _texts(app)
    assert "Verdict:" in text
    assert len(app.get("image")) == 5  # top-3 bars, timeline, chunk bars, waveform, mel spectrogram
    assert len(app.get("audio")) == 2  # the whole clip and the selected chunk
    assert len(app.get("download_button")) == 2


def test_bad_upload_keeps_the_previous_result(app):
    app.file_uploader(key="uploads").set_value(("song.wav", _music(seed=1), "audio/wav"))
    app.run()
    first = [m.value for m in app.markdown if m.value.startswith("## Verdict")]
    app.file_uploader(key="uploads").set_value(("broken.wav", b"RIFF1234WAVEfmt nonsense", "audio/wav"))
    app.run()
    assert not app.exception, app.exception
    assert any("broken.wav" in e.value and "could not be decoded" in e.value for e in app.error)
    assert [m.value for m in app.markdown if m.value.startswith("## Verdict")] == first


def test_silence_gets_a_plain_message(app):
    app.audio_input(key="audio_input").set_value(("rec.wav", synth.wav_bytes(np.zeros(44100 * 3, np.float32), 44100),
                                                  "audio/wav"))
    app.run()
    assert not app.exception
    assert any("silent" in e.value for e in app.error)


def test_recording_is_classified(app):
    app.audio_input(key="audio_input").set_value(("rec.wav", _music(seed=2), "audio/wav"))
    app.run()
    assert not app.exception, app.exception
    assert "Verdict:" in _texts(app)


def test_model_loaded_once_and_aggregation_change_does_not_recompute(app):
    from webapp import analysis, ui
    app.file_uploader(key="uploads").set_value(("song.wav", _music(seed=3), "audio/wav"))
    app.run()
    loads, predictions = ui.LOADS["count"], analysis.stats["predictions"]
    app.radio(key="aggregate").set_value("vote")
    app.run()
    assert any("share of chunk votes" in c.value for c in app.caption)
    app.switch_page("pages/how_it_works.py")
    app.run()
    assert not app.exception, app.exception
    assert ui.LOADS["count"] == loads <= 1
    assert analysis.stats["predictions"] == predictions


def test_labelled_clip_appears_in_the_explorer(app):
    app.file_uploader(key="uploads").set_value(("mine.wav", _music(seed=4), "audio/wav"))
    app.run()
    app.selectbox(key="true_label").set_value("jazz")
    app.button(key="add_to_collection").click()
    app.run()
    assert any("Saved mine.wav as jazz" in s.value for s in app.success)
    app.switch_page("pages/explore.py")
    app.run()
    app.selectbox(key="explore_source").set_value("My labelled clips")
    app.toggle(key="explore_wrong").set_value(False)
    app.run()
    assert not app.exception, app.exception
    assert any("mine.wav" in s.value for s in app.subheader)


def test_dataset_paths_cannot_escape_the_folder(tmp_path):
    from webapp.ui import safe_data_path
    root = tmp_path / "data"
    (root / "rock").mkdir(parents=True)
    (root / "rock" / "a.wav").write_bytes(b"x")
    (tmp_path / "secret.wav").write_bytes(b"x")
    assert safe_data_path(root.resolve(), "rock/a.wav") == (root / "rock" / "a.wav").resolve()
    for bad in ("../secret.wav", str(tmp_path / "secret.wav"), "rock/../../secret.wav", "rock", "missing.wav"):
        assert safe_data_path(root.resolve(), bad) is None, bad


@needs_shared_data
def test_explorer_plays_a_misclassified_clip_when_the_dataset_is_set(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "collection.sqlite"))
    monkeypatch.setenv("GENRE_DATA_DIR", str(EXCERPTS))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/explore.py")
    at.run()
    assert not at.exception, at.exception
    assert at.subheader and "true" in at.subheader[-1].value and "predicted" in at.subheader[-1].value
    assert len(at.get("audio")) == 1
    assert not any("Dataset folder" in i.value for i in at.info)


def test_upload_name_is_only_a_label(app, tmp_path):
    before = set(ROOT.parent.iterdir()) | set(ROOT.iterdir())
    app.file_uploader(key="uploads").set_value(("../../evil.wav", _music(seed=6), "audio/wav"))
    app.run()
    assert not app.exception, app.exception
    assert "Verdict:" in _texts(app)
    assert set(ROOT.parent.iterdir()) | set(ROOT.iterdir()) == before


def test_server_config_keeps_xsrf_and_limits_uploads():
    import tomllib
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 200


def test_several_uploads_get_a_table_and_the_newest_good_one_in_detail(app):
    app.file_uploader(key="uploads").set_value([("a.wav", _music(seed=7), "audio/wav"),
                                                ("bad.wav", b"not audio at all", "audio/wav"),
                                                ("b.wav", _music(seed=8, seconds=6.0), "audio/wav")])
    app.run()
    assert not app.exception, app.exception
    assert len(app.dataframe) == 1
    assert any("bad.wav" in e.value for e in app.error)
    assert any("**b.wav** · 6.0 s" in m.value for m in app.markdown)


@pytest.mark.parametrize("model", [m for m in __import__("genre_model.checkpoint").checkpoint.available_models()
                                   if m != "default"])
def test_every_trained_model_classifies_an_upload_and_opens_in_the_explorer(tmp_path, monkeypatch, model):
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "collection.sqlite"))
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["model"] = model  # AppTest drops sidebar widgets after the first run; preset instead
    at.run()
    at.file_uploader(key="uploads").set_value(("song.wav", _music(seed=8, seconds=6.0), "audio/wav"))
    at.run()
    assert not at.exception, at.exception
    assert "Verdict:" in _texts(at) and f"model `{model}`" in _texts(at)
    for page in ("pages/how_it_works.py", "pages/explore.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
    at.selectbox(key="explore_source").set_value(model)
    at.run()
    assert not at.exception, at.exception
    assert any(m.label == "Accuracy" for m in at.metric)
