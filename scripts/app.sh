#!/usr/bin/env bash
# Set up (if needed) and start the app on http://localhost:8501
#   bash scripts/app.sh --https   # for phones on the classroom Wi-Fi: https with a self-signed certificate
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
# glibc gives every thread its own malloc arena; Streamlit runs each session in a thread, and with
# 8 concurrent sessions the arenas held ~250 MB more than with 2 (measured by tests/test_load.py).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
if [ "${1:-}" = "--https" ]; then
  shift
  # Browsers give the microphone only to https pages (or localhost): make a certificate once, print
  # the addresses to open on phones, and serve over https on every network interface.
  eval "$(.venv/bin/python -m webapp.tls --shell)"
  .venv/bin/python -m webapp.tls
  exec .venv/bin/python -m streamlit run streamlit_app.py --server.address 0.0.0.0 \
    --server.sslCertFile "$CERT" --server.sslKeyFile "$KEY" "$@"
fi
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
