"""Readable from the back of the room: at 1280x720 (a common projector) every page is in the top
navigation (no "more" menu), and projector mode makes the text a reader sees large enough: page
titles >= 48 px, the verdict >= 64 px, Live's "now playing" larger still, chart text >= 18 px.
Sizes are the browser's computed sizes of the rendered text. Skipped without Chromium."""

import re

import pytest
import soundfile as sf

from genre_model import synth
from tests.browser_support import CHROMIUM, fake_mic_args, open_app, server  # noqa: F401 (a fixture)

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
              pytest.mark.slow]
PAGES = ["Classify", "Live", "Explore", "Compare", "Teach", "How it works"]


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    mic = tmp_path_factory.mktemp("mic") / "music.wav"
    sf.write(mic, synth.music_like(20.0, sr=48000, seed=5), 48000, subtype="PCM_16")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=fake_mic_args(mic))
        pg = open_app(browser, server, 1280, 720)
        yield pg
        browser.close()


def _px(page, selector: str) -> list[float]:
    """The computed font sizes (px) of the visible elements matching ``selector``."""
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel))
        .filter(e => e.getBoundingClientRect().width > 0)
        .map(e => parseFloat(getComputedStyle(e).fontSize))""", selector)


def _settle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def _switch_on(page, label: str) -> None:
    """Turn a sidebar toggle on. Headless Chromium can swallow the first click after the page loads,
    so click until the switch reports it is on."""
    switch = page.locator("[data-testid=stCheckbox]").filter(has_text=label)
    for _ in range(5):
        if switch.locator("input").is_checked():
            return
        page.get_by_text(label).click()
        try:
            page.wait_for_function("(e) => e.checked", arg=switch.locator("input").element_handle(), timeout=5_000)
        except playwright.TimeoutError:
            continue
    assert switch.locator("input").is_checked(), f"{label} did not switch on"


def _every_page_in_the_navigation(page) -> None:
    nav = page.locator('[data-testid="stTopNav"]')
    for title in PAGES:
        link = nav.get_by_role("link", name=title)
        assert link.is_visible(), f"{title} is not in the top navigation"
        box = link.bounding_box()
        assert box and box["x"] + box["width"] <= 1280, title
    assert nav.get_by_text(re.compile(r"^\d+ more$")).count() == 0


def test_projector_mode_at_1280x720(page, tmp_path):
    _settle(page)
    _every_page_in_the_navigation(page)  # normal mode first
    _switch_on(page, "Presentation mode (projector)")
    page.wait_for_function("() => parseFloat(getComputedStyle(document.documentElement).fontSize) > 16",
                           timeout=60_000)
    _settle(page)
    _every_page_in_the_navigation(page)
    assert min(_px(page, "h1")) >= 48

    wav = tmp_path / "music.wav"
    sf.write(wav, synth.music_like(12.0, sr=22050, seed=3), 22050)
    page.get_by_role("tab", name="Upload files").click()
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(wav))
    page.wait_for_selector(".st-key-verdict h2", timeout=60_000)
    _settle(page)
    verdict = min(_px(page, ".st-key-verdict h2"))
    assert verdict >= 64
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stVegaLiteChart] svg text').length > 0",
                           timeout=60_000)
    chart_text = _px(page, "[data-testid=stVegaLiteChart] svg text")  # axis labels and titles, legend
    assert chart_text and min(chart_text) >= 18, sorted(set(chart_text))

    page.get_by_role("link", name="Live").click()
    page.wait_for_selector("h1:has-text('Live: what is playing now?')", timeout=60_000)
    assert min(_px(page, "h1")) >= 48
    page.frame_locator('iframe[title*="streamlit_webrtc"]').get_by_role("button", name="Start listening").click()
    page.wait_for_selector(".now-playing", timeout=60_000)  # "Listening…", then the genre, in the same size
    assert min(_px(page, ".now-playing")) > verdict  # Live is read from further away still
