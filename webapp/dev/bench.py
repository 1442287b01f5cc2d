"""App benchmark: ``python -m webapp.dev.bench`` starts the app, drives it with headless Chromium and prints:
time from ``streamlit run`` to the first result for a 30 s upload, the time of a rerun after
changing the aggregation, and the app process's memory after classifying.

Targets (issue #4): first result < 10 s; rerun < 1 s; app memory < 700 MB (aim 512 MB).
Needs Debian's chromium and the playwright package (requirements-dev.txt).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from genre_model import synth
from genre_model.bench import rss_mb
from webapp.dev.serve import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app


def main() -> None:
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip30.wav"
        sf.write(clip, synth.music_like(30.0, sr=44100, seed=11), 44100)
        env = {**os.environ, "GENRE_COLLECTION": str(Path(tmp) / "c.sqlite"), "GENRE_MODELS_DIR": str(Path(tmp) / "models")}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            url, proc = start_app(env, Path(tmp) / "app.log")
            try:
                t_up = time.perf_counter() - t0
                page.goto(url)
                page.get_by_role("tab", name="Upload files").click()
                page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(clip))
                page.wait_for_selector("text=/Verdict:|Can't judge/", timeout=120_000)
                t_first = time.perf_counter() - t0
                page.wait_for_selector('[data-testid="stImage"] >> nth=3', timeout=60_000)
                t_figures = time.perf_counter() - t0
                mem = rss_mb(proc.pid)

                times = []
                for choice, caption in [("majority vote", "share of chunk votes"), ("mean probability", "mean chunk probability")] * 3:
                    t = time.perf_counter()
                    page.get_by_text(choice, exact=True).click()
                    page.wait_for_selector(f"text={caption}", timeout=30_000)
                    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                           timeout=30_000)
                    times.append(time.perf_counter() - t)
                mem_after = rss_mb(proc.pid)
            finally:
                stop_app(proc)
                browser.close()
    times.sort()
    print(f"server up (health endpoint answers): {t_up:.1f} s after `streamlit run`")
    print(f"first result for a 30 s upload (verdict on screen): {t_first:.1f} s after `streamlit run`; "
          f"all five figures drawn: {t_figures:.1f} s")
    print(f"rerun after changing the aggregation: median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s "
          f"over {len(times)} changes (model not reloaded, nothing recomputed)")
    print(f"app process memory: {mem:.0f} MB after the first classification, {mem_after:.0f} MB at the end")


if __name__ == "__main__":
    main()
