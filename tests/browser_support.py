"""Helpers for the tests that start the app and drive Debian's Chromium with Playwright (the same
ones the benchmarks use, in webapp/dev/serve.py)."""

import os
import subprocess
from pathlib import Path

import pytest

from webapp.dev.serve import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, open_live, start_app, stop_app

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "ROOT", "free_port", "open_live", "start_app", "stop_app", "start_test_app", "server"]


def start_test_app(tmp: Path, *extra: str) -> tuple[str, subprocess.Popen]:
    """The app on 127.0.0.1 with its collection and class models in ``tmp`` (log: tmp/app.log)."""
    return start_app({**os.environ, "GENRE_COLLECTION": str(tmp / "c.sqlite"), "GENRE_MODELS_DIR": str(tmp / "models")},
                     tmp / "app.log", *extra)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The URL of an app started once for the test module that imports this fixture."""
    url, proc = start_test_app(tmp_path_factory.mktemp("app"))
    yield url
    stop_app(proc)


def fake_mic_args(wav: Path) -> list[str]:
    """Chromium flags for a microphone that plays ``wav`` in a loop, allowed without asking."""
    return CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-audio-capture={wav}"]


def open_app(browser, url: str, width: int, height: int):
    """A new page of the app at this window size, microphone allowed, once the Classify page shows."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.grant_permissions(["microphone"], origin=url)
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("text=What genre is this?", timeout=90_000)
    return page
