"""Streamlit helpers shared by the pages: settings, the cached model, figures, projector mode."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import streamlit as st
from matplotlib.figure import Figure

from genre_model.checkpoint import available_models, class_models, read_info, resolve_model_dir
from genre_model.models import REGISTRY
from genre_model.predict import Classifier

LOADS = {"count": 0}  # how many times a model was loaded in this process (the tests read it)


@st.cache_resource(show_spinner="Loading the model (once per server)...")
def classifier(name: str) -> Classifier:
    """One Classifier per model and process, shared by every session and rerun."""
    LOADS["count"] += 1
    clf = Classifier(name)
    print(f"genre-demo: loaded model {name} on {clf.device}", file=sys.stderr, flush=True)
    return clf


@dataclass
class Settings:
    model: str
    chunk_seconds: float
    hop_seconds: float
    presentation: bool
    data_dir: str
    max_minutes: float

    @property
    def scale(self) -> float:
        return 1.5 if self.presentation else 1.0

    @property
    def max_seconds(self) -> float:
        return self.max_minutes * 60


def sidebar_settings() -> Settings:
    """The sidebar controls, shown on every page (called from streamlit_app.py)."""
    models = available_models() + class_models()
    if "select_model" in st.session_state:  # a page asked for a model (e.g. Teach, after saving one)
        st.session_state["model"] = st.session_state.pop("select_model")
    if st.session_state.get("model") not in models:  # e.g. a class model deleted in another session
        st.session_state["model"] = models[0]
    with st.sidebar:
        st.header("Settings")
        model = st.selectbox("Model", models, key="model", format_func=_model_label,
                             help="The shipped models (weights/) and the class models made on the Teach page.")
        info = read_info(resolve_model_dir(model))
        st.caption(REGISTRY[info.arch].summary[:1].upper() + REGISTRY[info.arch].summary[1:] + ".")
        if info.feature_kind == "tabular":
            # Its features are statistics over a whole 30 s clip, as in the table it learned from.
            chunk, hop = info.chunk_seconds, info.hop_seconds
            st.caption(f"This model reads fixed {chunk:g} s windows (shorter audio is repeated to fill one).")
        else:
            chunk = st.slider("Chunk length (s)", 1.0, 10.0, float(info.chunk_seconds), 0.5, key="chunk_seconds",
                              help=f"The model classifies the audio in windows of this length (its own: "
                                   f"{info.chunk_seconds:g} s).")
            hop = st.slider("Hop between chunks (s)", 0.5, 10.0, float(info.hop_seconds), 0.5, key="hop_seconds",
                            help=f"Smaller than the chunk length means overlapping chunks (the model's own: "
                                 f"{info.hop_seconds:g} s).")
        if hop > chunk:
            st.warning("The hop is longer than a chunk, which would skip audio; using hop = chunk length.")
            hop = chunk
        presentation = st.toggle("Presentation mode (projector)", key="presentation",
                                 help="Larger text and figures.")
        data_dir = st.text_input("Dataset folder (optional)", key="data_dir",
                                 value=os.environ.get("GENRE_DATA_DIR", ""),
                                 help="A folder of <genre>/<audio files>, e.g. the GTZAN excerpts. Used for "
                                      "example clips and to play clips on the Explore page.")
        max_minutes = st.number_input("Longest accepted audio (minutes)", 1.0, 60.0, 20.0, 1.0, key="max_minutes")
    if presentation:
        st.markdown("<style>html, body, [class*='st-'] {font-size: 1.3rem;} h1 {font-size: 3rem !important;}</style>",
                    unsafe_allow_html=True)
    return Settings(model, chunk, hop, presentation, data_dir.strip(), max_minutes)


def _model_label(name: str) -> str:
    return name if name in available_models() else f"{name} (class model)"


def settings() -> Settings:
    return st.session_state["settings"]


_PNG_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_PNG_LOCK = threading.Lock()
# One figure drawn at a time: no speed is lost on a 2-core server, and memory stays bounded when
# many sessions classify at once.
_DRAW_LOCK = threading.Lock()


def _render(build: Callable[[], Figure]) -> bytes:
    with _DRAW_LOCK:
        buf = io.BytesIO()
        build().savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def show(build: Callable[[], Figure]) -> None:
    """Draw a figure (``build`` returns it) and show it."""
    st.image(_render(build))


def show_cached(key: tuple, build: Callable[[], Figure]) -> None:
    """Show a figure rendered once per ``key``: a rerun that changes nothing it depends on just
    re-sends the PNG instead of drawing it again (matplotlib is the slow part of a rerun)."""
    with _PNG_LOCK:
        png = _PNG_CACHE.get(key)
        if png is not None:
            _PNG_CACHE.move_to_end(key)
    if png is None:
        png = _render(build)
        with _PNG_LOCK:
            _PNG_CACHE[key] = png
            while len(_PNG_CACHE) > 96:
                _PNG_CACHE.popitem(last=False)
    st.image(png)


def data_root(s: Settings) -> Path | None:
    """The configured dataset folder, if it exists."""
    if not s.data_dir:
        return None
    path = Path(s.data_dir).expanduser()
    return path.resolve() if path.is_dir() else None


def safe_data_path(root: Path, relpath: str) -> Path | None:
    """``root/relpath`` only if it stays inside ``root`` and is a file (no ``..`` or absolute escapes)."""
    candidate = (root / relpath).resolve()
    if root != candidate and root in candidate.parents and candidate.is_file():
        return candidate
    return None
