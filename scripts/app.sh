#!/usr/bin/env bash
# Set up (if needed) and start the app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
