"""The Classify page: inputs (two recorders, upload, examples), then the results of the current clip.

Inputs sit above a fixed results placeholder (a recorder component re-created below late content
comes back empty). A new input replaces the result on screen only when it decodes and classifies;
otherwise an error explains why and the previous result stays.
"""

from __future__ import annotations

import streamlit as st

from genre_model.audio import SUPPORTED_HINT
from genre_model.errors import AudioError
from webapp import analysis, results
from webapp.collection import Collection, CollectionError
from webapp.ui import classifier, gtzan, settings, upload_limit_note

UPLOAD_TYPES = ["wav", "mp3", "ogg", "flac", "au", "m4a", "aac"]
RECORDER_ADVICE = (
    "**Which recorder?** For music, use *Record (browser)*: it keeps the level as it is. The *Record "
    "(button)* recorder asks the browser for voice processing (automatic gain and noise suppression), "
    "which turns steady music down and can remove parts of it; it records a fixed-length take here."
)


def _offer(source: str, name: str, data: bytes | None) -> None:
    """Remember the newest input: the one whose content changed most recently."""
    if not data:
        return
    sha = analysis.content_hash(data)
    seen = st.session_state.setdefault("seen_inputs", {})
    if seen.get(source) != sha:
        seen[source] = sha
        st.session_state["pending"] = (name, data)


def _inputs() -> None:
    st.markdown(RECORDER_ADVICE)
    tabs = st.tabs(["Record (browser)", "Record (button)", "Upload files", "Example clip"])
    with tabs[0]:
        rec = st.audio_input("Record music from the microphone", sample_rate=44100, key="audio_input")
        if rec is not None:
            _offer("audio_input", "recording.wav", rec.getvalue())
    with tabs[1]:
        seconds = st.slider("Take length (s)", 3, 30, 10, key="take_seconds")
        try:
            from audio_recorder_streamlit import audio_recorder
            data = audio_recorder(text="Click to record, click again to stop", energy_threshold=(-1.0, 1.0),
                                  pause_threshold=float(seconds), sample_rate=44100, key="audio_recorder")
        except Exception as exc:  # the component failing must not take the page down
            st.info(f"The button recorder is unavailable here ({exc}); use *Record (browser)*.")
            data = None
        _offer("audio_recorder", "button-recording.wav", data)
    with tabs[2]:
        files = st.file_uploader(f"Audio files ({SUPPORTED_HINT})", type=UPLOAD_TYPES,
                                 accept_multiple_files=True, key="uploads")
        st.caption(upload_limit_note())
        if files:
            _batch(files)
    with tabs[3]:
        _example()


def _example() -> None:
    """A clip of the teacher's GTZAN folder, chosen by genre and id."""
    folder = gtzan(settings())
    if folder is None:
        st.info("Set the **GTZAN folder** in the sidebar (where you downloaded GTZAN; see the README) to pick "
                "example clips.")
        return
    c1, c2 = st.columns([1, 2])
    genre = c1.selectbox("Genre", folder.genres, key="example_genre")
    ids = [i for i in sorted(folder.clips) if i.startswith(genre + ".")]
    clip_id = c2.selectbox("Clip", ids, key="example_clip")
    if st.button("Classify this example", key="example_go") and clip_id:
        path = folder.clips[clip_id][0]
        _offer(f"example:{path}", path.name, path.read_bytes())


def _batch(files) -> None:
    """Several uploads: a summary table, and one of them chosen for the detailed view."""
    s = settings()
    clf = classifier(s.model)
    rows, good = [], []
    bar = st.empty()
    for i, f in enumerate(files):
        data = f.getvalue()
        label = f"{f.name} ({i + 1} of {len(files)})" if len(files) > 1 else f.name

        def progress(done: int, total: int, i=i, label=label) -> None:  # over all files: chunks of this one
            bar.progress((i + done / total) / len(files), text=f"Classifying {label}: chunk {done} of {total}")

        try:
            with st.spinner(f"Reading {label}..."):
                analysis.decode(clf, data, max_seconds=s.max_seconds)
            a = analysis.analyse(clf, f.name, data, chunk_seconds=s.chunk_seconds, hop_seconds=s.hop_seconds,
                                 max_seconds=s.max_seconds, progress=progress)
            (genre, score), = a.prediction.top_k(1, st.session_state.get("aggregate", "mean"))
            rows.append({"file": f.name, "verdict": genre, "score": round(score, 3), "problem": ""})
            good.append(f)
        except AudioError as exc:
            rows.append({"file": f.name, "verdict": "-", "score": None, "problem": exc.message})
    bar.empty()
    if len(files) > 1:
        st.dataframe(rows, hide_index=True, width="stretch")
    if good:
        names = [f.name for f in good]
        # A new key whenever the list grows, so the newest upload is shown by default.
        chosen = (st.selectbox("Show details for", names, index=len(names) - 1, key=f"upload_choice_{len(files)}")
                  if len(good) > 1 else names[0])
        f = good[names.index(chosen)]
        _offer(f"upload:{chosen}", f.name, f.getvalue())
    for r in rows:
        if r["problem"]:
            st.error(f"{r['file']}: {r['problem']}")


def _process_pending() -> None:
    pending = st.session_state.pop("pending", None)
    if pending is None:
        return
    name, data = pending
    s = settings()
    clf = classifier(s.model)
    try:
        with st.spinner(f"Reading {name}..."):
            _, clip = analysis.decode(clf, data, max_seconds=s.max_seconds)
        # about 1 s of work per minute of audio: anything longer gets a bar of chunks done
        bar = st.progress(0.0, text="Classifying...") if clip.duration > 45 else None
        analysis.analyse(clf, name, data, chunk_seconds=s.chunk_seconds, hop_seconds=s.hop_seconds,
                         max_seconds=s.max_seconds,
                         progress=(lambda d, t: bar.progress(d / t, text=f"Classifying chunk {d} of {t}")) if bar else None)
        if bar:
            bar.empty()
    except AudioError as exc:
        st.session_state["input_error"] = f"{name}: {exc.message}"
        return
    st.session_state["current"] = (name, data)
    st.session_state.pop("input_error", None)


def _label_form(a: analysis.Analysis) -> None:
    with st.expander("Label this clip and add it to my collection"):
        st.caption("Your labelled clips are kept on this computer (not in the project) and appear as a "
                   "dataset on the Explore page, so a class can build a test set and see where the model fails.")
        label = st.selectbox("True genre", a.prediction.labels, key="true_label",
                             index=a.prediction.labels.index(a.prediction.genre()))
        if st.button("Add to collection", key="add_to_collection"):
            try:
                Collection().add(name=a.name, label=label, clip=a.clip, prediction=a.prediction, sha256=a.sha)
                st.success(f"Saved {a.name} as {label}.")
            except CollectionError as exc:
                st.error(str(exc))


def run() -> None:
    s = settings()
    st.title("What genre is this?")
    clf = classifier(s.model)
    _inputs()
    _process_pending()
    placeholder = st.container()
    with placeholder:
        if "input_error" in st.session_state:
            st.error(st.session_state["input_error"] + (" The previous result is still shown below."
                                                        if "current" in st.session_state else ""))
        if "current" not in st.session_state:
            st.info("Record, upload or pick a clip to see its genre, timeline and spectrogram.")
            return
        name, data = st.session_state["current"]
        try:
            a = analysis.analyse(clf, name, data, chunk_seconds=s.chunk_seconds, hop_seconds=s.hop_seconds,
                                 max_seconds=s.max_seconds)
        except AudioError as exc:  # e.g. the length limit was lowered after this clip was loaded
            st.error(f"{name}: {exc.message}")
            return
        st.session_state["current_analysis"] = a
        results.render(a, s, clf.info.mel_params)
        _label_form(a)
