"""Memory over a long classroom session, in a real browser: ``python -m webapp.dev.soak --minutes 30``.

Starts ``streamlit run`` (as scripts/app.sh does), then for ``--minutes`` repeats a round of mixed
use in headless Chromium whose fake microphone plays generated music: an upload on Classify (a new
clip each time, some minutes long), a recording with Record (browser), Live for a few seconds, then
Explore, Compare, Teach and How it works; every few rounds the browser tab is closed and a new one
opened (a new session, as when a class comes in). Prints the server's resident memory after each
round and a JSON summary: after the first round, the peak, the end.

Needs Debian's chromium and playwright (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import soundfile as sf

from genre_model import synth
from genre_model.bench import rss_mb
from webapp.dev.serve import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app

PAGES = [("Explore", "Where does the model go wrong?"), ("Compare", "Compare models"),
         ("Teach", "Teach it your own music"), ("How it works", "How it works")]


def _settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)


def _round(page, i: int, tmp: Path) -> None:
    """One round of mixed use; waits on what the page shows, not on fixed times."""
    page.get_by_role("link", name="Classify").click()
    page.wait_for_selector("h1:has-text('What genre is this?')", timeout=60_000)
    wav = tmp / f"upload-{i}.wav"
    seconds = 240.0 if i % 4 == 3 else 20.0 + i % 5 * 5  # now and then a long file
    sf.write(wav, synth.music_like(seconds, sr=22050, seed=i, bpm=70 + i % 90), 22050)
    page.get_by_role("tab", name="Upload files").click()
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(wav))
    page.wait_for_selector(f"text=upload-{i}.wav", timeout=60_000)
    page.wait_for_selector("text=/Verdict:|Can't judge/", timeout=180_000)
    _settle(page)
    page.get_by_role("tab", name="Record (browser)").click()
    button = page.locator('[data-testid="stAudioInputActionButton"]').first
    for _ in range(3):  # the first click after a rerun can be lost: click until the timer runs
        button.click()
        try:
            page.locator('[data-testid="stAudioInput"]').get_by_text("00:02").wait_for(timeout=8_000)
            break
        except Exception:
            continue
    button.click()
    try:
        page.wait_for_selector("text=recording.wav", timeout=30_000)
    except Exception:
        button.click()  # the stop click was lost too
        page.wait_for_selector("text=recording.wav", timeout=30_000)
    _settle(page)
    page.get_by_role("link", name="Live").click()
    page.wait_for_selector("h1:has-text('Live: what is playing now?')", timeout=60_000)
    frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
    frame.get_by_role("button", name="Start listening").click()
    page.wait_for_selector("text=/update [3-9]|update \\d\\d/", timeout=120_000)
    frame.get_by_role("button", name="Stop").click()
    _settle(page)
    for title, heading in PAGES:
        page.get_by_role("link", name=title).click()
        page.wait_for_selector(f"h1:has-text('{heading}')", timeout=60_000)
        _settle(page)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (0: only the time limit)")
    p.add_argument("--new-tab-every", type=int, default=3, help="rounds per browser tab (session)")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright
    tmp = Path(tempfile.mkdtemp(prefix="genre-soak-"))
    mic = tmp / "mic.wav"
    sf.write(mic, synth.music_like(30.0, sr=48000, seed=11), 48000, subtype="PCM_16")
    import os
    url, proc = start_app({**os.environ, "GENRE_COLLECTION": str(tmp / "c.sqlite"),
                           "GENRE_MODELS_DIR": str(tmp / "models")}, tmp / "app.log")
    rounds, failures, samples, started = 0, 0, [], time.time()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic}"])
            page = None
            while time.time() - started < args.minutes * 60 and not (args.rounds and rounds >= args.rounds):
                if rounds % args.new_tab_every == 0:
                    if page is not None:
                        page.context.close()
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    ctx.grant_permissions(["microphone"], origin=url)
                    page = ctx.new_page()
                    page.goto(url)
                    page.wait_for_selector("text=What genre is this?", timeout=90_000)
                try:
                    _round(page, rounds, tmp)
                except Exception as exc:  # a step that did not show in time: noted, and the soak goes on
                    failures += 1
                    print(f"round {rounds + 1}: {type(exc).__name__}: {str(exc).splitlines()[0]}", flush=True)
                rounds += 1
                samples.append(rss_mb(proc.pid))
                print(f"round {rounds} at {(time.time() - started) / 60:.1f} min: server {samples[-1]:.0f} MB",
                      flush=True)
            browser.close()
    finally:
        stop_app(proc)
    summary = {"minutes": round((time.time() - started) / 60, 1), "rounds": rounds, "failed_rounds": failures,
               "after_first_round_mb": round(samples[0]), "peak_mb": round(max(samples)), "end_mb": round(samples[-1])}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
