"""A teacher's own GTZAN folder, in each layout it is shared in (generated folders, tiny files)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from streamlit.testing.v1 import AppTest

from genre_model.gtzan import GtzanFolderError, scan
from tests.conftest import ROOT

TONE = (0.1 * np.sin(2 * np.pi * 440 * np.arange(2205) / 22050)).astype(np.float32)


def _make(folder, genres=("blues", "rock"), n=3, ext="wav"):
    for g in genres:
        (folder / g).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            sf.write(folder / g / f"{g}.{i:05d}.{ext}", TONE, 22050, format="AU" if ext == "au" else None)
    (folder / genres[0] / "notes.txt").write_text("not audio")


@pytest.mark.parametrize("sub, ext, layout", [
    ("Data/genres_original", "wav", "Kaggle layout"),
    ("genres_original", "wav", "Kaggle layout"),
    ("genres", "au", "original layout"),
    (".", "wav", "plain layout"),
])
def test_each_common_layout_is_found_and_named(tmp_path, sub, ext, layout):
    _make(tmp_path / sub, ext=ext)
    folder = scan(tmp_path)
    assert folder.summary() == f"found 6 clips in 2 genres, {layout}"
    assert folder.genres == ["blues", "rock"]
    assert folder.clips["rock.00002"][0].suffix == f".{ext}"


def test_the_projects_data_layout_merges_its_cuts_longest_first(tmp_path):
    _make(tmp_path / "gtzan_snippets", genres=("pop",), n=2)
    _make(tmp_path / "gtzan_full", genres=("pop",), n=1)
    folder = scan(tmp_path)
    assert folder.summary().startswith("found 2 clips in 1 genre, project data layout")
    assert [p.parent.parent.name for p in folder.clips["pop.00000"]] == ["gtzan_full", "gtzan_snippets"]
    # a report's exact path is that file; a path from another layout finds the same GTZAN id
    assert folder.path_for("gtzan_snippets/pop/pop.00000.wav") == (tmp_path / "gtzan_snippets/pop/pop.00000.wav").resolve()
    assert folder.path_for("genres/pop/pop.00001.au") == (tmp_path / "gtzan_snippets/pop/pop.00001.wav").resolve()
    assert folder.path_for("pop/pop.00042.wav") is None


def test_report_paths_cannot_escape_the_folder(tmp_path):
    _make(tmp_path / "data")
    (tmp_path / "secret.wav").write_bytes(b"x")
    folder = scan(tmp_path / "data")
    for bad in ("../secret.wav", str(tmp_path / "secret.wav"), "rock/../../secret.wav", "rock", "missing.wav"):
        assert folder.path_for(bad) is None, bad


def test_an_unknown_layout_says_what_was_found_and_what_was_expected(tmp_path):
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "song.mp3").write_bytes(b"x")
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(GtzanFolderError) as err:
        scan(tmp_path)
    message = str(err.value)
    assert "music/, readme.txt" in message and "genres_original" in message and "genres/<genre>" in message
    with pytest.raises(GtzanFolderError, match="There is no folder"):
        scan(tmp_path / "missing")


def test_the_app_checks_the_gtzan_folder_at_once_and_remembers_it(tmp_path, monkeypatch):
    _make(tmp_path / "gtzan" / "Data" / "genres_original", genres=("jazz", "metal", "rock"), n=2)
    monkeypatch.setenv("GENRE_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.delenv("GENRE_DATA_DIR", raising=False)
    monkeypatch.chdir(ROOT)
    app = str(ROOT / "streamlit_app.py")
    for typed, said in [("nothing-here", "There is no folder"), ("gtzan", "found 6 clips in 3 genres, Kaggle layout")]:
        at = AppTest.from_file(app, default_timeout=120)
        at.session_state["gtzan_dir"] = str(tmp_path / typed)  # AppTest drops sidebar widgets after a run: preset
        at.run()
        assert not at.exception, at.exception
        assert any(said in e.value for e in [*at.sidebar.warning, *at.sidebar.caption]), said
    at.switch_page("pages/classify.py")
    at.run()
    assert [s.options for s in at.selectbox if s.label == "Genre"] == [["jazz", "metal", "rock"]]
    # a restart (a new session, nothing preset) starts from the remembered folder
    again = AppTest.from_file(app, default_timeout=120)
    again.run()
    assert next(t for t in again.sidebar.text_input if t.label.startswith("GTZAN folder")).value == str(tmp_path / "gtzan")
    assert any("Kaggle layout" in c.value for c in again.sidebar.caption)


def test_the_app_says_what_is_wrong_with_a_folder_that_is_not_gtzan(tmp_path, monkeypatch):
    (tmp_path / "photos").mkdir()
    monkeypatch.setenv("GENRE_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state["gtzan_dir"] = str(tmp_path)
    at.run()
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "No GTZAN clips" in warning and "photos/" in warning and "Data/genres_original" in warning
