#!/usr/bin/env bash
# Set up (if needed) and start the app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
# glibc gives every thread its own malloc arena; Streamlit runs each session in a thread, and with
# 8 concurrent sessions the arenas held ~250 MB more than with 2 (measured by tests/test_load.py).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
