"""Start the app as a server process and drive it with Debian's Chromium: shared by the benchmarks
(webapp.dev.bench, webapp.dev.live_bench) and the browser tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless Chromium on this machine: no sandbox as root, no GPU, and no background traffic to the
# internet (it would be refused, many connections at a time).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict, log_path: Path, *extra: str) -> tuple[str, subprocess.Popen]:
    """Start ``streamlit run`` on 127.0.0.1 and wait until it answers; output goes to ``log_path``."""
    port = free_port()
    env = {"MALLOC_ARENA_MAX": "2", **env}  # as scripts/app.sh starts it
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1", *extra],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return url, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the app did not start: " + log_path.read_text(errors="replace")[-2000:])


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def open_live(page, url: str, *, timeout_ms: int = 90_000) -> None:
    """Open the app in ``page`` (a Playwright page) and go to its Live page by the top navigation."""
    page.goto(url)
    page.wait_for_selector("text=What genre is this?", timeout=timeout_ms)
    page.get_by_role("link", name="Live").click()
    page.wait_for_selector("h1:has-text('Live: what is playing now?')", timeout=timeout_ms)
