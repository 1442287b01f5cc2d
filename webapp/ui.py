"""Streamlit helpers shared by the pages: settings, the cached model, figures, projector mode."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from matplotlib.figure import Figure

from genre_model.gtzan import GtzanFolder, GtzanFolderError, scan
from genre_model.checkpoint import available_models, class_models, read_info, resolve_model_dir
from genre_model.models import REGISTRY
from genre_model.predict import Classifier
from webapp import join, prefs

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
    gtzan_dir: str
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
        gtzan_dir = _gtzan_setting()
        max_minutes = st.number_input("Longest accepted audio (minutes)", 1.0, 60.0, 20.0, 1.0, key="max_minutes")
        with st.expander("Join from a phone (QR code)"):
            join.show(width=220)
    st.markdown(PROJECTOR_CSS if presentation else BASE_CSS, unsafe_allow_html=True)
    return Settings(model, chunk, hop, presentation, gtzan_dir, max_minutes)


# The verdict is the headline of a page (the container keyed "verdict" gets the class st-key-verdict).
BASE_CSS = "<style>.st-key-verdict h2 {font-size: 3rem !important;}</style>"
# Streamlit sizes its text in rem: a larger root font makes every text on the page larger alike (the
# old rule set each element's own size and so made the headings smaller than normal).
# The top navigation keeps its normal size (zoom 0.75 undoes the 1.5), so every page fits at 1280 px; the page
# uses the width a projector has instead of wide side margins.
PROJECTOR_CSS = """<style>
html {font-size: 24px;}
h1 {font-size: 2.1rem !important;}
.st-key-verdict h2 {font-size: 2.8rem !important;}
[data-testid="stTopNav"] {zoom: 0.75;}
[data-testid="stMainBlockContainer"] {padding: 3rem 2rem 2rem 2rem;}
</style>"""


def _gtzan_setting() -> str:
    """The "GTZAN folder" box: remembered across restarts, checked as soon as it changes."""
    saved = prefs.load().get("gtzan_dir")
    if "gtzan_dir" not in st.session_state:
        st.session_state["gtzan_dir"] = saved or os.environ.get("GENRE_DATA_DIR", "")
    folder = st.text_input("GTZAN folder (optional)", key="gtzan_dir", placeholder="e.g. ~/Downloads/gtzan",
                           help="Where you downloaded GTZAN (Kaggle's Data/genres_original, the original genres/ "
                                "folder, or plain <genre>/ folders; see the README). Used for example clips, to "
                                "play the clips of the Explore page and to add clips on the Teach page.").strip()
    if folder != (saved or ""):
        prefs.save(gtzan_dir=folder)
    if folder:
        try:
            st.caption(f":material/check_circle: {gtzan_folder(folder).summary()}.")
        except GtzanFolderError as exc:
            st.warning(str(exc))
    return folder


@st.cache_data(ttl=60, show_spinner=False)
def gtzan_folder(folder: str) -> GtzanFolder:
    """The clips of a GTZAN folder (looked at again after a minute, so new downloads appear)."""
    return scan(folder)


def gtzan(s: Settings) -> GtzanFolder | None:
    """The GTZAN folder of the settings, if one is set and holds GTZAN clips."""
    if not s.gtzan_dir:
        return None
    try:
        return gtzan_folder(s.gtzan_dir)
    except GtzanFolderError:
        return None


def upload_limit_note() -> str:
    """Said under every upload box: the browser refuses a larger file with only a mark on its chip."""
    mb = int(st.get_option("server.maxUploadSize"))
    return (f"Up to {mb} MB per file (20 minutes of 48 kHz stereo WAV) and {settings().max_minutes:g} minutes of "
            "audio. A file over the size limit is refused by the browser: shorten it, or save it as mp3, ogg or flac.")


def _model_label(name: str) -> str:
    return name if name in available_models() else f"{name} (class model)"


def settings() -> Settings:
    """The sidebar settings of this run. A page opened by its own address (a bookmark of /live) can
    run before the entry point has set them: then they are set here."""
    if "settings" not in st.session_state:
        st.session_state["settings"] = sidebar_settings()
    return st.session_state["settings"]


_PNG_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_PNG_LOCK = threading.Lock()
# One figure drawn at a time: no speed is lost on a 2-core server, and memory stays bounded when
# many sessions classify at once.
_DRAW_LOCK = threading.Lock()


def _render(build: Callable[[], Figure]) -> bytes:
    with _DRAW_LOCK:
        buf = io.BytesIO()
        fig = build()
        try:
            fig.savefig(buf, format="png", dpi=100)
        finally:
            # A figure is a web of reference cycles: left alone it waits for Python's rare full
            # collection (the server turns Streamlit's per-run one off), holding its arrays (a long
            # clip's spectrogram: tens of MB). Clearing it frees them now.
            fig.clear()
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
            while len(_PNG_CACHE) > 48:
                _PNG_CACHE.popitem(last=False)
    st.image(png)
