"""Soak: SOAK_CLIPS (default 200) different clips classified in one app process. The app runs
under AppTest in a fresh Python process (started like scripts/app.sh starts the server, with
MALLOC_ARENA_MAX=2), so the figures are the app's alone, not the test runner's. After a warm-up
that fills the bounded caches, memory may grow by less than 50 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.browser_support import CHROMIUM
from tests.conftest import ROOT
from tests.figures import FIGURES

CLIPS = int(os.environ.get("SOAK_CLIPS", "200"))
WARMUP = 30  # by then every bounded cache (audio, predictions, 48 figure PNGs) is full

SOAK = """
import json, os, sys, time
from streamlit.testing.v1 import AppTest
from genre_model import synth
from genre_model.bench import rss_mb
from webapp import analysis, ui
clips, warmup = int(sys.argv[1]), int(sys.argv[2])
analysis._clips.budget = 8 * 1024 * 1024  # small, so that the warm-up fills every bounded cache
at = AppTest.from_file("streamlit_app.py", default_timeout=120)
at.run()
start, samples = time.perf_counter(), []
for i in range(clips):
    data = synth.wav_bytes(synth.music_like(3.0 + (i % 7) * 0.5, sr=22050, seed=i, bpm=70 + i % 90), 22050)
    at.file_uploader(key="uploads").set_value((f"clip{i}.wav", data, "audio/wav"))
    at.run()
    assert not at.exception, at.exception
    assert any(m.value.startswith(("## Verdict", "## Can't judge")) for m in at.markdown), i
    samples.append(rss_mb(os.getpid()))
# medians of 20 samples after the warm-up and of the last 20: one sample can land before or after
# the allocator hands freed memory back (tens of MB either way)
med = lambda xs: sorted(xs)[len(xs) // 2]
print(json.dumps({"seconds": time.perf_counter() - start, "warm": med(samples[warmup:warmup + 20]),
                  "end": med(samples[-20:]),
                  "peak": max(samples), "loads": ui.LOADS["count"]}))
"""


@pytest.mark.slow
def test_memory_stays_flat_over_many_classifications(tmp_path):
    assert CLIPS >= 2 * WARMUP, f"SOAK_CLIPS must be at least {2 * WARMUP} for a meaningful figure"
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "GENRE_COLLECTION": str(tmp_path / "c.sqlite")}
    proc = subprocess.run([sys.executable, "-c", SOAK, str(CLIPS), str(WARMUP)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = r["end"] - r["warm"]
    FIGURES.append(f"soak: {CLIPS} clips in one app process in {r['seconds']:.0f} s; RSS after {WARMUP}-clip "
                   f"warm-up {r['warm']:.0f} MB, at the end {r['end']:.0f} MB (growth {growth:+.0f} MB), "
                   f"peak {r['peak']:.0f} MB; model loads {r['loads']}")
    assert r["loads"] == 1
    assert growth < 50


# The normal run: 4 rounds (a fixed amount of use, whatever the machine's speed); the long run:
# BROWSER_SOAK_MINUTES=30.
BROWSER_MINUTES = float(os.environ.get("BROWSER_SOAK_MINUTES", "0"))
BROWSER_ROUNDS = 0 if BROWSER_MINUTES else 4
# The aim is 700 MB (#17); measured 640-736 MB in 4 rounds, 700-800 MB (a peak of 954) over 30 minutes.
# This guards against the old growth (995 MB within 5 minutes) coming back; a CI-like run peaked at 795 MB.
LIMIT_MB = 900


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_a_classroom_session_in_a_real_browser_stays_under_the_memory_limit():
    """Mixed use in headless Chromium (uploads, one of 4 minutes, recordings, Live, every page, new
    tabs): 4 rounds in the normal run, BROWSER_SOAK_MINUTES in the long run (30, see the README); the
    server stays under LIMIT_MB."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    proc = subprocess.run([sys.executable, "-m", "webapp.dev.soak", "--minutes", str(BROWSER_MINUTES or 60),
                           "--rounds", str(BROWSER_ROUNDS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=int((BROWSER_MINUTES or 60) * 60) + 1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    FIGURES.append(f"browser soak: {r['minutes']} min, {r['rounds']} rounds of mixed use ({r['failed_rounds']} with a "
                   f"step that did not show in time); server {r['after_first_round_mb']} MB after the first round, "
                   f"peak {r['peak_mb']} MB, end {r['end_mb']} MB")
    assert r["rounds"] >= (BROWSER_ROUNDS or 2) and r["failed_rounds"] <= r["rounds"] // 3
    assert r["peak_mb"] < LIMIT_MB
