"""Settings remembered across restarts (the GTZAN folder), in the user's data folder: never in the
project. ``GENRE_SETTINGS`` moves the file (the tests point it at a temporary folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from genre_model.model_dir import atomic_write


def path() -> Path:
    if os.environ.get("GENRE_SETTINGS"):
        return Path(os.environ["GENRE_SETTINGS"])
    from platformdirs import user_data_dir
    return Path(user_data_dir("genre-demo")) / "settings.json"


def load() -> dict:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or unreadable: start from the defaults
        return {}
    return data if isinstance(data, dict) else {}


def save(**values) -> None:
    data = load() | values
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, json.dumps(data, indent=2).encode("utf-8"))
