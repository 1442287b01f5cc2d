"""Helpers for the tests that start the app and drive Debian's Chromium with Playwright (the same
ones the benchmarks use, in webapp/dev/serve.py)."""

from webapp.dev.serve import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, start_app, stop_app  # noqa: F401
