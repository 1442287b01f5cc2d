"""The app in a real browser: headless Chromium (Debian's) driven by Playwright, with a fake
microphone fed by a generated WAV. Skipped, with the reason, when Chromium or Playwright is missing.

Screenshots go to $GENRE_SCREENSHOTS (default: artifacts/screenshots); the README shows copies."""

import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth
from tests.browser_support import CHROMIUM, fake_mic_args, open_app, server  # noqa: F401 (a fixture)
from tests.conftest import ROOT, dominant_frequency

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
              pytest.mark.slow]
SHOTS = Path(os.environ.get("GENRE_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
MIC_HZ = 660.0


@pytest.fixture(scope="module")
def fake_mic(tmp_path_factory) -> Path:
    """A 660 Hz tone over a drum pattern: the tone's frequency survives the browser's voice processing."""
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    y = synth.tone(MIC_HZ, 60.0, sr=48000, amplitude=0.5) + 0.3 * synth.drum_pattern(60.0, sr=48000)
    sf.write(path, y, 48000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def browser(fake_mic):
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=fake_mic_args(fake_mic))
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    pg = open_app(browser, server, 1400, 1000)
    yield pg
    pg.context.close()


def _shot(pg, name: str, height: int = 1000) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.set_viewport_size({"width": 1400, "height": height})  # Streamlit scrolls inside the page: grow it
    pg.wait_for_timeout(1500)  # let figures finish drawing
    pg.screenshot(path=str(SHOTS / f"{name}.png"))
    pg.set_viewport_size({"width": 1400, "height": 1000})


def _settle(pg) -> None:
    """Wait until the app's current run has finished."""
    pg.wait_for_timeout(500)
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def _charts_drawn(pg) -> None:
    """Wait until every interactive chart on the page is drawn: a spec Vega cannot draw leaves its box
    blank, with no exception on the page."""
    pg.wait_for_function("""() => { const charts = document.querySelectorAll("[data-testid='stVegaLiteChart']");
                                    return charts.length > 0 && Array.from(charts).every(
                                        c => c.querySelector('svg.marks, canvas.marks')); }""", timeout=60_000)


def _main_audio(pg, server) -> tuple[np.ndarray, int]:
    """The decoded clip the app classified, fetched from the player's source."""
    players = pg.locator('[data-testid="stAudio"]')
    best = None
    for i in range(players.count()):
        src = players.nth(i).get_attribute("src")
        if not src:
            continue
        data = pg.request.get(src if src.startswith("http") else server + src).body()
        samples, sr = sf.read(io.BytesIO(data), dtype="float32")
        if best is None or len(samples) > len(best[0]):
            best = (samples, sr)
    assert best is not None, "no audio player on the page"
    return best


def _check_recording(page, server, name: str, shot: str) -> None:
    """The recording was classified, and what the app analysed is the fake microphone's tone.
    Judged by frequency, not level: the browser's voice processing changes the level."""
    page.wait_for_selector(f"text={name}", timeout=60_000)
    page.wait_for_selector("text=/Verdict:|Can't judge/", timeout=30_000)
    _settle(page)  # the players below the verdict come later in the same run
    samples, sr = _main_audio(page, server)
    assert len(samples) / sr > 2.0
    assert dominant_frequency(samples, sr) == pytest.approx(MIC_HZ, abs=5.0)
    _shot(page, shot)


def test_upload_gives_a_verdict(page, server, tmp_path):
    wav = tmp_path / "upload.wav"
    sf.write(wav, synth.music_like(12.0, sr=44100, seed=5), 44100)
    page.get_by_role("tab", name="Upload files").click()
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(wav))
    page.wait_for_selector("text=/Verdict:|Can't judge/", timeout=60_000)
    page.wait_for_selector("text=upload.wav · 12.0 s", timeout=30_000)
    _charts_drawn(page)  # the clickable genre timeline
    _shot(page, "classify-upload", height=3000)


def test_record_with_streamlit_audio_input(page, server):
    button = page.locator('[data-testid="stAudioInputActionButton"]')
    button.click()
    page.wait_for_timeout(4000)
    button.click()
    _check_recording(page, server, "recording.wav", "classify-audio-input")


def test_record_with_audio_recorder_component(page, server):
    page.get_by_role("tab", name="Record (button)").click()
    take = page.locator('[data-testid="stSlider"]').filter(has_text="Take length").get_by_role("slider")
    take.focus()
    take.press("Home")  # shortest take: 3 s
    page.wait_for_timeout(1000)
    frame = page.frame_locator('iframe[title="audio_recorder_streamlit.audio_recorder"]')
    frame.locator('svg[data-icon="microphone"]').click()
    _check_recording(page, server, "button-recording.wav", "classify-audio-recorder")


@pytest.mark.parametrize("title,heading", [
    ("Live", "Live: what is playing now?"),
    ("Explore", "Where does the model go wrong?"),
    ("Compare", "Compare models"),
    ("Teach", "Teach it your own music"),
    ("How it works", "How it works"),
])
def test_every_page_opens(page, title, heading):
    page.get_by_role("link", name=title).click()
    page.wait_for_selector(f"h1:has-text('{heading}')", timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.locator('[data-testid="stException"]').count() == 0
    if title == "Explore":
        _charts_drawn(page)
    _shot(page, title.lower().replace(" ", "-"), height=2400)


def test_an_oversized_upload_gets_a_clear_message(page, tmp_path):
    big = tmp_path / "huge.wav"
    with open(big, "wb") as f:  # sparse: 251 MB on paper, nothing on disk
        f.truncate(251 * 1024 * 1024)
    page.get_by_role("tab", name="Upload files").click()
    # the limit is said on the page, in words, before and after the refusal
    page.get_by_text("A file over the size limit is refused by the browser").wait_for(timeout=30_000)
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(big))
    page.wait_for_selector("text=/250(\\.0)? ?MB or smaller/", state="attached", timeout=30_000)
    assert page.get_by_text("Up to 250 MB per file").is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_no_raw_page_names_flash_while_the_app_loads(browser, server):
    """Before the first script run, Streamlit would list the files of pages/ ("classify", "how it
    works"...) in the sidebar; the config hides that list and the pages show at the top."""
    import time
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})  # a common projector size
    pg = ctx.new_page()
    pg.goto(server, wait_until="commit")
    nav = {"Classify", "Live", "Explore", "Compare", "Teach", "How it works"}
    seen, deadline = set(), time.time() + 90
    # Watch from the first paint until the page and its whole top navigation are there (on a busy
    # machine the navigation can paint a moment after the heading).
    while time.time() < deadline and not ("What genre is this?" in seen and nav <= seen):
        text = pg.locator("body").inner_text()
        seen.update(line.strip() for line in text.splitlines() if line.strip())
        pg.wait_for_timeout(20)
    ctx.close()
    assert "What genre is this?" in seen, seen
    assert not {"classify", "how it works", "streamlit app", "teach", "live"} & seen, seen
    assert nav <= seen, seen  # none hidden in "more"


def test_teach_a_new_genre_in_the_browser(page, server, tmp_path):
    """The Teach page in a real browser: label uploads with a new genre and a known one, train, see
    the comparison (the logic is tested in tests/test_app.py; this checks the page works for real)."""
    from tests.test_teach import chiptune
    page.get_by_role("link", name="Teach").click()
    page.wait_for_selector("h1:has-text('Teach it your own music')", timeout=60_000)
    for label, new, make in (("chiptune", True, lambda s: chiptune(5.0, s)),
                             ("classical", False, lambda s: synth.tone(250.0 + 30 * s, 5.0, sr=16000)
                              + synth.tone(375.0 + 45 * s, 5.0, sr=16000))):
        files = []
        for s in range(3):
            path = tmp_path / f"{label}{s}.wav"
            sf.write(path, make(s), 16000)
            files.append(str(path))
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Label").last  # the upload column's
        box.click()
        page.get_by_role("option", name="New label…" if new else label).click()
        _settle(page)  # each change starts a rerun that replaces the inputs: wait for it every time
        if new:
            page.get_by_label("New label").last.fill(label)
            page.get_by_label("New label").last.press("Enter")
            _settle(page)
        page.locator('[data-testid="stFileUploader"]').filter(has_text="Audio files").locator(
            "input[type=file]").set_input_files(files)
        page.wait_for_selector(f"text={label}2.wav", timeout=60_000)
        _settle(page)
        page.get_by_role("button", name="Add 3 file(s)").click(timeout=60_000)
        page.wait_for_selector(f"text=Added {label}2.wav", timeout=90_000)
        _settle(page)
    page.get_by_role("button", name="Train a class model").click()
    page.wait_for_selector("text=Changed verdicts", timeout=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    _shot(page, "teach", height=2200)
