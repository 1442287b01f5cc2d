"""The Live page and https in a real browser (Debian's Chromium + Playwright, fake microphone):
Live starts, updates arrive, Stop opens the take in Classify; a blocked microphone and a closed tab
are handled; the https command serves a page that records. Skipped without Chromium."""

import io
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf

from genre_model import synth
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, free_port, open_live, start_app, stop_app
from tests.conftest import ROOT

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
              pytest.mark.slow]
GENRE = re.compile(r"^(BLUES|CLASSICAL|COUNTRY|DISCO|HIPHOP|JAZZ|METAL|POP|REGGAE|ROCK) \d+%$")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    log = tmp / "app.log"
    url, proc = start_app({**os.environ, "GENRE_COLLECTION": str(tmp / "c.sqlite"),
                           "GENRE_MODELS_DIR": str(tmp / "models")}, log)
    yield url, log
    stop_app(proc)


@pytest.fixture(scope="module")
def music_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mic") / "music.wav"
    sf.write(path, synth.music_like(30.0, sr=48000, seed=4), 48000, subtype="PCM_16")
    return path


def _launch(p, mic: Path | None, *extra: str):
    args = CHROMIUM_ARGS + list(extra)
    if mic is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={mic}"]
    return p.chromium.launch(executable_path=CHROMIUM, args=args)


def _start(page) -> None:
    frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
    frame.get_by_role("button", name="Start listening").click()


def _big_verdict(page) -> str:
    texts = page.locator("div").filter(has_text=GENRE).all_inner_texts()
    return next((t.strip() for t in texts if GENRE.match(t.strip())), "")


def test_live_listens_updates_and_the_take_opens_in_classify(server, music_file):
    url, log = server
    with playwright.sync_playwright() as p:
        browser = _launch(p, music_file)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
        ctx.grant_permissions(["microphone"], origin=url)
        page = ctx.new_page()
        open_live(page, url)
        _start(page)
        page.wait_for_selector("text=/heard \\d+ s/", timeout=60_000)
        first = page.locator("text=/heard \\d+ s/").first.inner_text()
        page.wait_for_timeout(4000)
        later = page.locator("text=/heard \\d+ s/").first.inner_text()
        assert first != later, "the live display did not update"
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Can't judge" in page.content() or _big_verdict(page)
        shots = Path(os.environ.get("GENRE_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "live.png"))
        frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
        frame.get_by_role("button", name="Stop").click()
        page.get_by_role("button", name=re.compile("Open the take in Classify")).click()
        page.wait_for_selector("text=What genre is this?", timeout=60_000)
        page.wait_for_selector("text=/live-take-\\d+\\.wav/", timeout=60_000)
        assert page.locator("text=/Verdict:|Can't judge/").count() >= 1
        browser.close()


def test_a_blocked_microphone_gets_a_clear_message(server):
    url, _ = server
    with playwright.sync_playwright() as p:
        browser = _launch(p, None, "--use-fake-device-for-media-stream", "--deny-permission-prompts")
        page = browser.new_context().new_page()
        open_live(page, url)
        _start(page)
        frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
        frame.locator("text=/NotAllowedError/").wait_for(timeout=30_000)  # the component's own words ...
        page.wait_for_selector("text=/the microphone is blocked for this site: allow it/", timeout=30_000)  # ... ours
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


def test_a_closed_tab_stops_the_processing(server, music_file):
    url, log = server
    with playwright.sync_playwright() as p:
        browser = _launch(p, music_file)
        ctx = browser.new_context()
        ctx.grant_permissions(["microphone"], origin=url)
        page = ctx.new_page()
        open_live(page, url)
        _start(page)
        page.wait_for_selector("text=/heard \\d+ s/", timeout=60_000)
        before = log.read_text(errors="replace").count("live: listener ended")
        page.close()
        deadline = time.time() + 45
        while time.time() < deadline and log.read_text(errors="replace").count("live: listener ended") == before:
            time.sleep(0.5)
        assert log.read_text(errors="replace").count("live: listener ended") > before
        browser.close()


def test_https_serves_a_page_that_records(tmp_path):
    """What ``bash scripts/app.sh --https`` does: a self-signed certificate, then Streamlit over
    https; a browser that accepts the certificate records with the microphone and listens live."""
    env = {**os.environ, "GENRE_TLS_DIR": str(tmp_path / "tls"), "GENRE_COLLECTION": str(tmp_path / "c.sqlite"),
           "GENRE_MODELS_DIR": str(tmp_path / "models")}
    shell = subprocess.run([sys.executable, "-m", "webapp.tls", "--shell"], cwd=ROOT, env=env, capture_output=True,
                           text=True, check=True).stdout
    paths = dict(line.split("=", 1) for line in shell.split())
    cert, key = (paths[k].strip("'") for k in ("CERT", "KEY"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                             "--server.port", str(port), "--server.address", "0.0.0.0",  # as app.sh --https
                             "--server.sslCertFile", cert, "--server.sslKeyFile", key],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    try:
        context = ssl.create_default_context(cafile=cert)  # the certificate names 127.0.0.1: it verifies
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2, context=context).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        mic = tmp_path / "mic.wav"
        sf.write(mic, synth.music_like(20.0, sr=48000, seed=2), 48000, subtype="PCM_16")
        with playwright.sync_playwright() as p:
            browser = _launch(p, mic, "--ignore-certificate-errors")
            ctx = browser.new_context(ignore_https_errors=True)
            ctx.grant_permissions(["microphone"], origin=url)
            page = ctx.new_page()
            page.goto(url)
            page.wait_for_selector("text=What genre is this?", timeout=90_000)
            assert page.evaluate("window.isSecureContext")
            button = page.locator('[data-testid="stAudioInputActionButton"]')
            button.click()
            page.wait_for_timeout(4000)
            button.click()
            page.wait_for_selector("text=recording.wav", timeout=60_000)
            assert page.locator("text=/Verdict:|Can't judge/").count() >= 1
            page.get_by_role("link", name="Live").click()  # and live listening over https too
            page.wait_for_selector("h1:has-text('Live: what is playing now?')", timeout=60_000)
            _join_code_is_readable(page, port)
            _start(page)
            page.wait_for_selector("text=/heard \\d+ s/", timeout=60_000)
            browser.close()
    finally:
        stop_app(proc)


def _join_code_is_readable(page, port: int) -> None:
    """The Live page shows a QR code of the address phones should open; read back from a screenshot
    of the page as a phone camera would see it. With no network address: the hint instead."""
    from webapp.tls import lan_addresses
    addresses = lan_addresses()
    if not addresses:
        page.locator('[data-testid="stMain"]').get_by_text("no network address").wait_for(timeout=30_000)
        return
    code = page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first
    code.wait_for(timeout=30_000)
    box = code.bounding_box()
    assert box["width"] >= 200  # a few centimetres on a projector: scannable across a room
    import numpy as np
    import zxingcpp
    from PIL import Image
    shot = Image.open(io.BytesIO(code.screenshot())).convert("L")
    assert [r.text for r in zxingcpp.read_barcodes(np.array(shot))] == [f"https://{addresses[0]}:{port}"]
    page.locator('[data-testid="stMain"]').get_by_text(f"Open https://{addresses[0]}:{port} on a phone").wait_for(
        timeout=10_000)
