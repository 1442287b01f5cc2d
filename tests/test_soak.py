"""Soak: SOAK_CLIPS (default 200) different clips classified in one app process (AppTest runs the
app in this process). After a warm-up that fills the bounded caches, memory may grow < 50 MB."""

from __future__ import annotations

import os
import time

import pytest
from streamlit.testing.v1 import AppTest

from genre_model import synth
from tests.browser_support import rss_mb
from tests.conftest import ROOT
from tests.figures import FIGURES

CLIPS = int(os.environ.get("SOAK_CLIPS", "200"))
WARMUP = min(30, CLIPS // 4)


@pytest.mark.slow
def test_memory_stays_flat_over_many_classifications(tmp_path, monkeypatch):
    from webapp import analysis, ui
    monkeypatch.setenv("GENRE_COLLECTION", str(tmp_path / "c.sqlite"))
    monkeypatch.chdir(ROOT)
    # Small decoded-audio cache so that the warm-up fills every bounded cache; growth after
    # that would be a leak.
    monkeypatch.setattr(analysis._clips, "budget", 8 * 1024 * 1024)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    start = time.perf_counter()
    samples_mb = []
    for i in range(CLIPS):
        data = synth.wav_bytes(synth.music_like(3.0 + (i % 7) * 0.5, sr=22050, seed=i, bpm=70 + i % 90), 22050)
        at.file_uploader(key="uploads").set_value((f"clip{i}.wav", data, "audio/wav"))
        at.run()
        assert not at.exception, at.exception
        assert any(m.value.startswith("## Verdict") for m in at.markdown)
        if i == WARMUP - 1:
            warm = rss_mb(os.getpid())
        samples_mb.append(rss_mb(os.getpid()))
    end = rss_mb(os.getpid())
    growth = end - warm
    FIGURES.append(f"soak: {CLIPS} clips in one app process in {time.perf_counter() - start:.0f} s; RSS after "
                   f"{WARMUP}-clip warm-up {warm:.0f} MB, at the end {end:.0f} MB (growth {growth:+.0f} MB), "
                   f"peak {max(samples_mb):.0f} MB; model loads {ui.LOADS['count']}")
    assert growth < 50
