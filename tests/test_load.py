"""Many users: one app server, LOAD_SESSIONS (default 8) concurrent browser sessions, each uploading
LOAD_REPEATS (default 3) different generated clips. Every session must see its own clip's correct
verdict, with no errors; the model is loaded once; server memory stays bounded. Latency
percentiles, requests, errors and peak memory are printed at the end of the run."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth
from genre_model.predict import Classifier
from genre_model.bench import rss_mb
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app
from tests.figures import FIGURES

pytest.importorskip("playwright.async_api", reason="playwright is not installed (requirements-dev.txt)")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
              pytest.mark.slow]
SESSIONS = int(os.environ.get("LOAD_SESSIONS", "8"))
REPEATS = int(os.environ.get("LOAD_REPEATS", "3"))
MEMORY_LIMIT_MB = 1200  # measured peaks 733-896 MB with 8 sessions (varies with CPU contention)


def test_concurrent_sessions_each_get_their_own_result(tmp_path):
    from playwright.async_api import async_playwright

    # Each (session, repeat) gets its own clip; its length makes the file label unique on screen.
    clf = Classifier("default", device="cpu")
    jobs = {}
    for s in range(SESSIONS):
        for r in range(REPEATS):
            seconds = 5.0 + s + 0.1 * r
            path = tmp_path / f"s{s}r{r}.wav"
            sf.write(path, synth.music_like(seconds, sr=22050, seed=100 * s + r, bpm=80 + 7 * s + 3 * r), 22050)
            pred = clf.predict(path)
            genre, score = pred.top_k(1)[0]
            flags = pred.flags()
            # what the heading says: the verdict, or "can't judge" when the model hears too much noise
            heading = "Can't judge" if flags["no_music"] or flags["too_noisy"] else f"Verdict: {genre.upper()}"
            jobs[(s, r)] = (path, f"{path.name} · {seconds:.1f} s", heading, genre, f"{score:.0%}")

    url, proc = start_app({**os.environ, "GENRE_COLLECTION": str(tmp_path / "c.sqlite"),
                           "GENRE_MODELS_DIR": str(tmp_path / "models")}, tmp_path / "app.log")
    peak = {"mb": rss_mb(proc.pid)}
    stop = threading.Event()

    def watch():
        while not stop.wait(0.1):
            peak["mb"] = max(peak["mb"], rss_mb(proc.pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    latencies, errors = [], []

    async def session(browser, s):
        page = await browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            await page.goto(url)
            await page.wait_for_selector("text=What genre is this?", timeout=120_000)
            await page.get_by_role("tab", name="Upload files").click()
            for r in range(REPEATS):
                path, label, heading, genre, score = jobs[(s, r)]
                t = time.perf_counter()
                await page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(path))
                await page.wait_for_selector(f"text={label}", timeout=120_000)
                latencies.append(time.perf_counter() - t)
                shown = await page.locator("h2:has-text('Verdict:'), h2:has-text(\"Can't judge\")").first.inner_text()
                detail = shown + " " + " ".join(await page.locator('[data-testid="stCaptionContainer"]').all_inner_texts())
                if heading not in shown or score not in detail or genre not in detail.lower():
                    errors.append(f"session {s} repeat {r}: expected {heading} {genre} {score}, saw {detail!r}")
                if await page.locator('[data-testid="stException"]').count():
                    errors.append(f"session {s} repeat {r}: exception on the page")
        except Exception as exc:  # collected: one failing session must not hide the others' figures
            errors.append(f"session {s}: {type(exc).__name__}: {exc}")
        finally:
            await page.close()

    async def run_all():
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            await asyncio.gather(*(session(browser, s) for s in range(SESSIONS)))
            await browser.close()

    start = time.perf_counter()
    try:
        asyncio.run(run_all())
    finally:
        wall = time.perf_counter() - start
        stop.set()
        watcher.join()
        stop_app(proc)
    log = (tmp_path / "app.log").read_text(errors="replace")
    loads = log.count("genre-demo: loaded model")
    lat = np.array(latencies) if latencies else np.array([np.nan])
    FIGURES.append(
        f"load test: {SESSIONS} sessions x {REPEATS} uploads = {len(latencies)} requests in {wall:.0f} s, "
        f"{len(errors)} errors; latency p50 {np.percentile(lat, 50):.1f} s, p90 {np.percentile(lat, 90):.1f} s, "
        f"max {lat.max():.1f} s; model loads {loads}; server peak RSS {peak['mb']:.0f} MB")
    assert not errors, "\n".join(errors)
    assert len(latencies) == SESSIONS * REPEATS
    assert loads == 1
    assert "Traceback" not in log
    assert peak["mb"] < MEMORY_LIMIT_MB
