"""Explore misclassified clips: confusion matrix -> list of clips in a cell -> one clip in detail."""

from __future__ import annotations

import numpy as np
import streamlit as st

from genre_model import plots
from genre_model.checkpoint import available_models
from genre_model.errors import AudioError
from webapp import analysis
from webapp.collection import Collection, CollectionError
from webapp.reports import COLLECTION, collection_report, load_report
from webapp.ui import classifier, data_root, safe_data_path, settings, show

ALL = "(all)"


def _summary(report: dict) -> None:
    m = report.get("metrics", {}).get("clean")
    if not m:
        st.info("No clips yet.")
        return
    lo, hi = m["accuracy_ci95"]
    c1, c2, c3 = st.columns(3)
    c1.metric("Accuracy", f"{m['accuracy']:.0%}", help=f"95% interval {lo:.0%}-{hi:.0%}")
    c2.metric("Macro-F1", f"{m['macro_f1']:.2f}")
    c3.metric("Clips", m["n"])
    st.caption(f"Evaluation: {report.get('split', '-')}. 95% interval {lo:.0%}-{hi:.0%}.")
    if "split files" in report.get("split", ""):
        st.caption("These clips are the test side of an artist-filtered split: no artist is on both sides.")
    elif report["model"] != COLLECTION:
        st.caption("GTZAN excerpts of one genre often share an artist, so these out-of-fold numbers are "
                   "optimistic for new music.")


def _clip_audio(report: dict, clip: dict) -> tuple[bytes | None, str]:
    """The clip's audio bytes, or None and a hint on how to make it available."""
    if clip["path"].startswith("collection:"):
        return Collection().audio(int(clip["path"].split(":", 1)[1])), ""
    root = data_root(settings())
    if root is None:
        return None, ("To listen to this clip and see its waveform, set the **Dataset folder** in the sidebar to the "
                      f"folder the report's paths are relative to (it was `{report.get('data_root', '?')}`).")
    path = safe_data_path(root, clip["path"])
    if path is None:
        return None, (f"There is no file `{clip['path']}` inside the dataset folder `{root}` (this report's clips "
                      f"came from `{report.get('data_root', '?')}`).")
    return path.read_bytes(), ""


def _detail(report: dict, clip: dict) -> None:
    s = settings()
    labels = report["labels"]
    st.subheader(f"{clip.get('name', clip['path'])}: true {clip['label']}, predicted {clip['predicted']} "
                 f"({clip['confidence']:.0%})")
    chunks = clip.get("chunks") or []
    if chunks:
        probs = np.array([c["probabilities"] for c in chunks])
        starts = np.array([c["start"] for c in chunks])
        ends = np.array([c["end"] for c in chunks])
        show(lambda: plots.genre_timeline(probs, starts, ends, labels, scale=s.scale))
    data, hint = _clip_audio(report, clip)
    if data is None:
        st.info(hint)
    else:
        clf = classifier(s.model)
        try:
            _, decoded = analysis.decode(clf, data, max_seconds=s.max_seconds)
        except AudioError as exc:
            st.error(f"{clip['path']}: {exc.message}")
        else:
            st.audio(data)
            show(lambda: plots.waveform(decoded.samples, decoded.sample_rate,
                                starts=starts if chunks else None, ends=ends if chunks else None, scale=s.scale))
            show(lambda: plots.mel_spectrogram(decoded.samples, clf.info.mel_params, scale=s.scale))
    if chunks:
        st.markdown("**Per-chunk probabilities**")
        st.dataframe([{"start": c["start"], "end": c["end"], **{g: round(p, 3) for g, p in zip(labels, c["probabilities"])}}
                      for c in chunks], hide_index=True, width="stretch")


def run() -> None:
    s = settings()
    st.title("Where does the model go wrong?")
    sources = available_models() + [COLLECTION]
    source = st.selectbox("Evaluation of", sources, key="explore_source",
                          help="A model's out-of-fold evaluation report, or the clips you labelled on the Classify page.")
    if source == COLLECTION:
        try:
            rows = Collection().clips()
        except CollectionError as exc:
            st.error(str(exc))
            return
        report = collection_report(rows, classifier(s.model).labels)
        if rows:
            st.download_button("Export my collection (JSON)", Collection().export_json(),
                               file_name="genre-collection.json", mime="application/json")
    else:
        report = load_report(source)
        if report is None:
            st.warning(f"Model {source} has no evaluation report (eval_report.json).")
            return
    labels = report["labels"]
    _summary(report)
    m = report.get("metrics", {}).get("clean")
    if m:
        show(lambda: plots.confusion(m["confusion"], labels, title="Confusion matrix (rows: true genre)", scale=s.scale))

    st.subheader("Clips")
    c1, c2, c3 = st.columns(3)
    true = c1.selectbox("True genre", [ALL] + labels, key="explore_true")
    predicted = c2.selectbox("Predicted genre", [ALL] + labels, key="explore_pred")
    only_wrong = c3.toggle("Only misclassified", value=True, key="explore_wrong")
    text = st.text_input("Filter by name", key="explore_text")
    clips = [c for c in report["clips"]
             if (true == ALL or c["label"] == true) and (predicted == ALL or c["predicted"] == predicted)
             and (not only_wrong or c["label"] != c["predicted"]) and text.lower() in c.get("name", c["path"]).lower()]
    if not clips:
        st.info("No clips match: choose another cell or turn off 'Only misclassified'.")
        return
    table = [{"clip": c.get("name", c["path"]), "true": c["label"], "predicted": c["predicted"],
              "confidence": c["confidence"]} for c in clips]
    event = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-row", key="explore_table")
    rows = event.selection.rows if event is not None else []
    chosen = clips[rows[0]] if rows else clips[0]
    if not rows:
        st.caption("Select a row to inspect it; showing the first.")
    _detail(report, chosen)
