#!/usr/bin/env bash
# Create .venv (once) and install the pinned requirements (again only when they change), saying
# what it does and roughly how long it takes: the first start is the slow one.
# Usage: scripts/setup.sh [requirements file]   (default: requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
python="${PYTHON:-python3}"
stamp=".venv/.installed-$(basename "$req")"
want="$(cat requirements*.txt | sha256sum | cut -c1-16)"
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0  # set up already
fi
started=$SECONDS
say() { echo "[set-up $((SECONDS - started)) s] $*"; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$python" --version 2>&1)"
  "$python" -m venv .venv
fi
say "installing the pinned packages from $req (about 1 minute the first time, more on a slow network;"
say "only again when a requirements file changes)"
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
# no --quiet: pip names each package as it collects and installs it, so the wait is visible
if ! .venv/bin/python -m pip install -r "$req" 2>&1 \
    | { grep --line-buffered -v -e "^WARNING: Location" -e "^Requirement already satisfied" || true; }; then
  echo "pip could not install $req (see above)"; exit 1
fi
say "warming up librosa's compiled code (about 30 s, once, so that no classroom click waits for it)"
.venv/bin/python -m genre_model.warm  # compile librosa's numba code now, not on a classroom's first click
echo "$want" > "$stamp"
say "done"
