"""Entry point: shared sidebar settings and navigation between the pages in pages/."""

import streamlit as st

from webapp.ui import sidebar_settings

st.set_page_config(page_title="Music genre classifier", page_icon=":material/music_note:", layout="wide")
st.session_state["settings"] = sidebar_settings()
st.navigation([
    st.Page("pages/classify.py", title="Classify", icon=":material/mic:", default=True),
    st.Page("pages/live.py", title="Live", icon=":material/graphic_eq:"),
    st.Page("pages/explore.py", title="Explore", icon=":material/search:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/bar_chart:"),
    st.Page("pages/teach.py", title="Teach", icon=":material/school:"),
    st.Page("pages/how_it_works.py", title="How it works", icon=":material/lightbulb:"),
], position="top").run()
