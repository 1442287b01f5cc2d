"""Explore misclassified clips: confusion matrix -> list of clips in a cell (or of one artist) -> one
clip in detail. Every clip of a model's report was scored by a model that never heard its artist."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from genre_model import plots
from genre_model.checkpoint import available_models, class_models
from genre_model.errors import AudioError
from webapp import analysis, charts
from webapp.collection import Collection, CollectionError
from genre_model.model_dir import REPORT_FILE
from genre_model.report import CONDITION_NAMES, ClipRecord, EvalReport, genre_recalls
from genre_model.tags import hears_text
from webapp.reports import COLLECTION, collection_report, load_report, report_headline
from webapp.ui import classifier, gtzan, settings, show

ALL = "(all)"


def _metrics(report: EvalReport, condition: str):
    return report.metrics.get(condition) or report.metrics.clean


def _summary(report: EvalReport, condition: str) -> None:
    m = _metrics(report, condition)
    if not m:
        st.info("No clips yet.")
        return
    lo, hi = m.accuracy_ci95
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Accuracy", f"{m.accuracy:.0%}", help=f"95% interval {lo:.0%}-{hi:.0%}")
    c2.metric("Macro-F1", f"{m.macro_f1:.2f}")
    c3.metric("Clips", m.n)
    if m.confidently_wrong is not None:
        c4.metric("Confidently wrong", f"{m.confidently_wrong:.0%}",
                  help="Wrong, and the model gave no sign that it could not judge (unsure, unfamiliar, too noisy).")
    st.caption(f"Accuracy {m.accuracy:.1%} (95% interval {lo:.1%}-{hi:.1%}) over {m.n} clips. "
               + report_headline(report))
    main = next(iter(report.evaluations.values()), None)
    if main is not None and main.risk_coverage:
        with st.expander("When does the model say it is unsure? (risk and coverage)"):
            _risk_coverage(main)
    if m.confusion:
        with st.expander("Recall per genre (95% intervals): is any genre left behind?"):
            st.dataframe([{"genre": r["genre"], "recall": f"{r['recall']:.0%}",
                           "95% interval": f"{r['recall_ci95'][0]:.0%}-{r['recall_ci95'][1]:.0%}", "files": r["files"]}
                          for r in genre_recalls(m, report.labels)], hide_index=True, width="stretch")


def _risk_coverage(ev) -> None:
    """Answering fewer clips makes fewer mistakes: the trade-off the unsure limits were read from."""
    rules, curves = ev.rules, ev.risk_coverage
    rows = [{"answered (coverage)": p["coverage"], "wrong among answers (risk)": p["risk"], "audio": name}
            for name, c in curves.items() for p in c["curve"]]
    chart = alt.Chart(pd.DataFrame(rows)).mark_circle(size=60).encode(
        x=alt.X("answered (coverage):Q", axis=alt.Axis(format="%")),
        y=alt.Y("wrong among answers (risk):Q", axis=alt.Axis(format="%")), color="audio:N",
        tooltip=["audio", alt.Tooltip("answered (coverage):Q", format=".0%"),
                 alt.Tooltip("wrong among answers (risk):Q", format=".0%")])
    st.altair_chart(charts.classroom_fonts(chart, settings().scale), width="stretch")
    short = rules.unsure_below_short if rules.unsure_below_short is not None else rules.unsure_below
    st.caption(f"Each point is one unsure limit (0% to 95%), on clean clips of held-out artists: "
               f"'short' are {curves['short']['n']} clips of at most {rules.short_seconds:g} s, 'long' "
               f"{curves['long']['n']} longer ones. The model answers long clips whose best genre scores at least "
               f"{rules.unsure_below:.0%}, short ones at least {short:.0%}, and says it is unsure below "
               f"{rules.min_sure_seconds:g} s of audio.")


def _clip_audio(report: EvalReport, clip: ClipRecord) -> tuple[bytes | None, str]:
    """The clip's audio bytes, or None and a hint on how to make it available."""
    if clip.path.startswith("collection:"):
        return Collection().audio(int(clip.path.split(":", 1)[1])), ""
    if clip.path.startswith("class:"):
        return None, "This clip belongs to the class that made the model; it is in the collection on the Teach page."
    folder = gtzan(settings())
    if folder is None:
        return None, ("To listen to this clip and see its waveform, set the **GTZAN folder** in the sidebar to where "
                      "you downloaded GTZAN (see the README).")
    path = folder.path_for(clip.path)
    if path is None:
        return None, f"Your GTZAN folder has no clip {Path(clip.path).stem} ({folder.summary()})."
    return path.read_bytes(), ""


def _detail(report: EvalReport, clip: ClipRecord) -> None:
    s = settings()
    labels = report.labels
    artist = f" · {clip.artist}" if clip.artist else ""
    st.subheader(f"{clip.title}{artist}: true {clip.label}, predicted {clip.predicted} ({clip.confidence:.0%})")
    if clip.hears:
        st.markdown(f"**The model hears:** {hears_text(clip.hears)}")
    conditions = clip.conditions or {}
    if conditions:
        heard = [("clean", clip.predicted, clip.confidence, clip.flags or {})] + [
            (c, v.predicted, v.confidence, v.flags) for c, v in conditions.items()]
        st.dataframe([{"listening condition": CONDITION_NAMES.get(c, c), "verdict": predicted,
                       "score": round(confidence, 3),
                       "cannot judge": ", ".join(k for k, on in flags.items() if on and k != "any") or "-"}
                      for c, predicted, confidence, flags in heard], hide_index=True, width="stretch")
    chunks = clip.chunks or []
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
            st.error(f"{clip.path}: {exc.message}")
        else:
            st.audio(data)
            show(lambda: plots.waveform(decoded.samples, decoded.sample_rate,
                                        starts=starts if chunks else None, ends=ends if chunks else None, scale=s.scale))
            show(lambda: plots.mel_spectrogram(decoded.samples, clf.info.mel_params, scale=s.scale))
    if chunks:
        st.markdown("**Per-chunk probabilities**")
        st.dataframe([{"start": c["start"], "end": c["end"], **{g: round(p, 3) for g, p in zip(labels, c["probabilities"])}}
                      for c in chunks], hide_index=True, width="stretch")


def _load(source: str, s) -> EvalReport | None:
    if source != COLLECTION:
        report = load_report(source)
        if report is None:
            st.warning(f"Model {source} has no evaluation report ({REPORT_FILE}).")
        return report
    try:
        rows = Collection().clips()
    except CollectionError as exc:
        st.error(str(exc))
        return None
    if rows:
        st.download_button("Export my collection (JSON)", Collection().export_json(),
                           file_name="genre-collection.json", mime="application/json")
    return collection_report(rows, classifier(s.model).labels)


def _by_artist(clips: list[ClipRecord]) -> None:
    """Errors per artist: which artists' music the model gets wrong."""
    stats: dict[str, list[int]] = {}
    for c in clips:
        a = stats.setdefault(c.artist or "(unknown)", [0, 0])
        a[0] += 1
        a[1] += c.label != c.predicted
    rows = sorted(({"artist": a, "clips": n, "wrong": w, "accuracy": round(1 - w / n, 2)} for a, (n, w) in stats.items()),
                  key=lambda r: (-r["wrong"], r["artist"]))
    st.dataframe(rows, hide_index=True, width="stretch", height=260)


def run() -> None:
    s = settings()
    st.title("Where does the model go wrong?")
    sources = available_models() + class_models() + [COLLECTION]
    source = st.selectbox("Evaluation of", sources, key="explore_source",
                          help="A model's held-out evaluation report, or the clips you labelled on the Classify page.")
    report = _load(source, s)
    if report is None:
        return
    labels = report.labels
    conditions = [c for c in CONDITION_NAMES if c == "clean" or report.metrics.get(c)]
    condition = st.radio("Listening condition", conditions, format_func=CONDITION_NAMES.get, horizontal=True,
                         key="explore_condition") if len(conditions) > 1 else "clean"
    clips = [c.heard_in(condition) for c in report.clips]
    _summary(report, condition)
    m = _metrics(report, condition)
    if m and m.confusion:
        picked = charts.confusion_chart(m.confusion, labels, key=f"explore_cm_{source}_{condition}", scale=s.scale)
        if picked and picked != st.session_state.get("explore_cm_applied"):
            st.session_state["explore_cm_applied"] = picked  # a click on a cell lists its clips
            st.session_state["explore_true"], st.session_state["explore_pred"] = picked
            st.session_state["explore_wrong"] = picked[0] != picked[1]

    st.subheader("Clips")
    st.caption("Click a cell of the matrix, or choose below.")
    c1, c2, c3 = st.columns(3)
    true = c1.selectbox("True genre", [ALL] + labels, key="explore_true")
    predicted = c2.selectbox("Predicted genre", [ALL] + labels, key="explore_pred")
    only_wrong = c3.toggle("Only misclassified", value=True, key="explore_wrong")
    artists = sorted({c.artist for c in clips if c.artist})
    artist = ALL
    if artists:
        with st.expander("Errors by artist"):
            _by_artist(clips)
        artist = st.selectbox("Artist", [ALL] + artists, key="explore_artist")
    text = st.text_input("Filter by name", key="explore_text")
    chosen_clips = [c for c in clips
                    if (true == ALL or c.label == true) and (predicted == ALL or c.predicted == predicted)
                    and (artist == ALL or (c.artist or "(unknown)") == artist)
                    and (not only_wrong or c.label != c.predicted) and text.lower() in c.title.lower()]
    if not chosen_clips:
        st.info("No clips match: choose another cell or turn off 'Only misclassified'.")
        return
    table = [{"clip": c.title, "artist": c.artist or "", "true": c.label, "predicted": c.predicted,
              "confidence": c.confidence} | ({"the model hears": hears_text(c.hears[:3])} if c.hears else {})
             for c in chosen_clips]
    event = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-row", key="explore_table")
    rows = event.selection.rows if event is not None else []
    chosen = chosen_clips[rows[0]] if rows and rows[0] < len(chosen_clips) else chosen_clips[0]
    if not rows:
        st.caption("Select a row to inspect it; showing the first.")
    _detail(report, chosen)
