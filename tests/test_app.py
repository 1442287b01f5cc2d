"""The Streamlit app through streamlit.testing (no browser)."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from genre_model import synth
from tests.conftest import ROOT, SHARED_DATA, needs_shared_data

APP = str(ROOT / "streamlit_app.py")
PAGES = ["pages/classify.py", "pages/live.py", "pages/explore.py", "pages/compare.py", "pages/teach.py",
         "pages/how_it_works.py"]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "collection.sqlite"))
    monkeypatch.setenv("GENRE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _music(seed=0, seconds=8.0) -> bytes:
    return synth.wav_bytes(synth.music_like(seconds, sr=22050, seed=seed), 22050)


def _texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
                     + [i.value for i in at.info] + [c.value for c in at.caption] + [s.value for s in at.success])


def _judged(at) -> bool:
    """A verdict, or the plain "can't judge" statement that replaces it for noisy or music-free audio."""
    return "Verdict:" in _texts(at) or "Can't judge" in _texts(at)


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
    assert "Verdict:" in text or "Can't judge" in text
    assert len(app.get("image")) == 4  # top-3 bars, chunk bars, waveform, mel spectrogram
    assert len(app.get("vega_lite_chart")) == 1  # the clickable genre timeline
    assert len(app.get("audio")) == 2  # the whole clip and the selected chunk
    assert len(app.get("download_button")) == 2


def test_bad_upload_keeps_the_previous_result(app):
    app.file_uploader(key="uploads").set_value(("song.wav", _music(seed=1), "audio/wav"))
    app.run()
    first = [m.value for m in app.markdown if m.value.startswith(("## Verdict", "## Can't judge"))]
    app.file_uploader(key="uploads").set_value(("broken.wav", b"RIFF1234WAVEfmt nonsense", "audio/wav"))
    app.run()
    assert not app.exception, app.exception
    assert any("broken.wav" in e.value and "could not be decoded" in e.value for e in app.error)
    assert first and [m.value for m in app.markdown if m.value.startswith(("## Verdict", "## Can't judge"))] == first


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
    assert _judged(app)


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


@needs_shared_data
def test_explorer_plays_a_misclassified_clip_when_the_dataset_is_set(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "collection.sqlite"))
    monkeypatch.setenv("GENRE_DATA_DIR", str(SHARED_DATA))  # the report's paths are relative to it
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
    assert _judged(app)
    assert set(ROOT.parent.iterdir()) | set(ROOT.iterdir()) == before


def test_server_config_keeps_xsrf_and_limits_uploads():
    import tomllib
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    # room for the longest accepted audio as 48 kHz stereo 16-bit WAV, and not much more
    twenty_minutes_mb = 20 * 60 * 48_000 * 2 * 2 / 1e6
    assert twenty_minutes_mb < config["server"]["maxUploadSize"] <= 1.2 * twenty_minutes_mb


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
    assert _judged(at) and f"model `{model}`" in _texts(at)
    for page in ("pages/how_it_works.py", "pages/explore.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
    at.selectbox(key="explore_source").set_value(model)
    at.run()
    assert not at.exception, at.exception
    assert any(m.label == "Accuracy" for m in at.metric)


def test_a_model_that_cannot_load_gets_a_plain_message(tmp_path, monkeypatch):
    """Weights saved by an older version of the code (here: the default model without its
    calibration and quality tensors) are named and explained, never a stack trace."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    src = ROOT / "weights" / "default" / "model.safetensors"
    with safe_open(str(src), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys() if not k.startswith("head.quality")}
        meta = f.metadata()
    (tmp_path / "models" / "old-model").mkdir(parents=True)
    save_file(tensors, str(tmp_path / "models" / "old-model" / "model.safetensors"), metadata=meta)
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "collection.sqlite"))
    monkeypatch.setenv("GENRE_MODELS_DIR", str(tmp_path / "models"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["model"] = "old-model"
    at.run()
    assert not at.exception, at.exception
    message = " ".join(e.value for e in at.error)
    assert "old-model" in message and "cannot be loaded" in message and "head.quality" in message
    assert "Choose another model" in message


def test_config_hides_the_deploy_button_and_the_raw_page_list():
    import tomllib
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer" and config["client"]["showSidebarNavigation"] is False
    # the sidebar list is off, so the pages must be listed at the top (tests/test_browser.py checks it shows)
    assert 'position="top"' in (ROOT / "streamlit_app.py").read_text()


def _chiptune(seed: int, seconds: float = 5.0) -> bytes:
    from tests.test_teach import chiptune
    return synth.wav_bytes(chiptune(seconds, seed), 16000)


def _add_clips(at, label: str, new: bool, files: list[tuple[str, bytes]]) -> None:
    at.selectbox(key="up_label").set_value("New label…" if new else label)
    at.run()
    if new:
        at.text_input(key="up_new_label").input(label)
        at.run()
    next(u for u in at.file_uploader if u.key.startswith("teach_uploads")).set_value(
        [(n, d, "audio/wav") for n, d in files])
    at.run()
    at.button(key="teach_add_files").click()
    at.run()
    assert not at.exception, at.exception


def test_teach_a_new_label_save_the_model_and_classify_with_it(app, tmp_path):
    app.switch_page("pages/teach.py")
    app.run()
    assert not app.exception, app.exception
    _add_clips(app, "chiptune", True, [(f"chip{i}.wav", _chiptune(i)) for i in range(3)])
    assert sum("as “chiptune”" in s.value for s in app.success) == 3
    tones = [(f"tone{i}.wav", synth.wav_bytes(synth.tone(300.0 + 40 * i, 5.0, sr=16000)
                                              + synth.tone(450.0 + 60 * i, 5.0, sr=16000), 16000)) for i in range(3)]
    _add_clips(app, "classical", False, tones)
    _add_clips(app, "chiptune", False, [("chip0-again.wav", _chiptune(0))])  # the same audio again
    assert any("already in the collection" in w.value for w in app.warning)
    app.button(key="teach_train").click()
    app.run()
    assert not app.exception, app.exception
    assert {m.label for m in app.metric} >= {"Class model", "Default model", "Changed verdicts"}
    app.text_input(key="teach_model_name").input("default")  # a shipped name is refused
    app.button(key="teach_save").click()
    app.run()
    assert any("shipped model" in e.value for e in app.error)
    app.text_input(key="teach_model_name").input("class-7b")
    app.button(key="teach_save").click()
    app.run()
    assert any("Saved as “class-7b”" in s.value for s in app.success)
    assert (tmp_path / "models" / "class-7b" / "model.safetensors").is_file()
    assert app.session_state["select_model"] == "class-7b"  # the sidebar selects it on the next run
    # AppTest drops sidebar widgets after the first run, so classify in a new session that selected it
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["model"] = "class-7b"
    at.run()
    at.file_uploader(key="uploads").set_value(("new-chip.wav", _chiptune(42, 6.0), "audio/wav"))
    at.run()
    assert not at.exception, at.exception
    assert "model `class-7b`" in _texts(at)
    assert any("CHIPTUNE" in m.value for m in at.markdown) or "Best guess chiptune" in _texts(at)
    for page in ("pages/compare.py", "pages/explore.py"):
        app.switch_page(page)
        app.run()
        assert not app.exception, app.exception
    app.switch_page("pages/teach.py")
    app.run()
    app.button(key="delete_class-7b").click()
    app.run()
    assert not app.exception, app.exception
    assert not (tmp_path / "models" / "class-7b").exists()
    at.switch_page("pages/classify.py")
    at.run()  # a session that had selected the deleted model falls back to the default
    assert not at.exception, at.exception


def test_teach_refuses_too_few_clips_with_a_plain_message(app):
    app.switch_page("pages/teach.py")
    app.run()
    _add_clips(app, "k-pop", True, [("k1.wav", _chiptune(1)), ("k2.wav", _chiptune(2))])
    app.button(key="teach_train").click()
    app.run()
    assert not app.exception, app.exception
    assert any("at least 3 clips" in e.value and "k-pop" in e.value for e in app.error)


def test_a_stopped_live_take_opens_in_classify(app):
    """The Live page's non-stream part: after Stop, the take is kept and opens in the full analysis."""
    from genre_model.live import LiveSession
    session = LiveSession(16000, chunk_seconds=3.0, hop_seconds=1.5)
    audio = synth.music_like(8.0, sr=48000, seed=3)
    for i in range(0, len(audio), 960):
        session.push(audio[i:i + 960], 48000)
    session.closed = True
    app.session_state["live_session"] = session
    app.session_state["live_box"] = [session]
    app.session_state["live_labels"] = ["blues"]
    app.switch_page("pages/live.py")
    app.run()
    assert not app.exception, app.exception
    assert any("Stopped after 8 s" in s.value for s in app.success)
    app.button(key="live_open").click()
    app.run()
    assert not app.exception, app.exception
    assert any(t.value == "What genre is this?" for t in app.title)
    assert "live-take-" in _texts(app) and _judged(app)


def test_compare_charts_include_the_default_model(app):
    """Every shipped model with a report, the default included, gets its confusion matrix (and a bar
    in the per-genre F1 chart): the table shows the default as "default (musicnn-head)"."""
    from genre_model.checkpoint import available_models
    app.switch_page("pages/compare.py")
    app.run()
    assert not app.exception, app.exception
    with_curves = sum(bool(json.loads((ROOT / "weights" / m / "eval_report.json").read_text()).get("curves"))
                      for m in available_models())
    assert len(app.get("image")) == 1 + len(available_models()) + with_curves  # F1, matrices, training curves
