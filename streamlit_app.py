"""Entry point: shared sidebar settings and navigation between the pages in pages/."""

import streamlit as st

from genre_model.errors import CheckpointError
from genre_model.memory import release_memory
from webapp.ui import sidebar_settings

st.set_page_config(page_title="Music genre classifier", page_icon=":material/music_note:", layout="wide")
st.session_state["settings"] = sidebar_settings()
page = st.navigation([
    st.Page("pages/classify.py", title="Classify", icon=":material/mic:", default=True),
    st.Page("pages/live.py", title="Live", icon=":material/graphic_eq:"),
    st.Page("pages/explore.py", title="Explore", icon=":material/search:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/bar_chart:"),
    st.Page("pages/teach.py", title="Teach", icon=":material/school:"),
    st.Page("pages/how_it_works.py", title="How it works", icon=":material/lightbulb:"),
], position="top")
try:
    page.run()
    # glibc keeps the memory a long file's analysis or a figure freed; handing it back costs ~8 ms
    # and keeps the server near its working size over a day (python -m webapp.dev.soak, README)
    release_memory(collect=False)
except CheckpointError as exc:  # e.g. weights from an older version of the code: say so, no stack trace
    model = st.session_state["settings"].model
    st.error(f"The model **{model}** cannot be loaded: {exc}\n\nChoose another model in the sidebar "
             "(the default model works), or retrain this one with `python -m train` (see the README).",
             icon=":material/error:")
