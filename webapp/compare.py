"""Compare models from their evaluation reports (nothing is recomputed here)."""

from __future__ import annotations

import streamlit as st

from genre_model import plots
from genre_model.checkpoint import available_models, class_models
from webapp.reports import comparison_rows, display_name, load_report
from webapp.ui import settings, show


def run() -> None:
    s = settings()
    st.title("Compare models")
    rows = comparison_rows()
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "held-out artists": st.column_config.TextColumn(
            help="Accuracy (95% interval), n files, on clips whose artist the model never heard: artist-grouped "
                 "cross-validation"),
        "split (valid part)": st.column_config.TextColumn(
            help="Trained on the train part of GTZAN's artist-filtered split, scored on its valid part"),
        "noisy rooms": st.column_config.TextColumn(
            help="The same held-out clips through simulated classrooms (talk, crowd, clatter at 0-15 dB SNR)"),
        "wrong, no warning": st.column_config.TextColumn(
            help="Share of noisy-room verdicts that were wrong with no sign that the model could not judge"),
        "ECE": st.column_config.NumberColumn(format="%.3f",
                                             help="Expected calibration error of the clip verdicts (0 = perfectly calibrated)"),
        "CPU s / 30 s": st.column_config.NumberColumn(help="CPU seconds to classify 30 s of audio, end to end"),
        "MB": st.column_config.NumberColumn(help="Size of the weights file"),
    })
    st.caption("Every figure is on music by artists the model never heard during training, so the rows compare like "
               "with like. Intervals are wide: rows whose intervals overlap are not clearly different.")
    mine = class_models()
    if mine:
        st.subheader("Class models")
        st.dataframe([{"model": n, "labels": ", ".join(r.labels), "class clips": len(r.clips),
                       "cross-validated on the class's clips": f"{r.metrics.get('after').accuracy:.0%}",
                       "default model on the same clips": f"{r.metrics.get('before').accuracy:.0%}"}
                      for n in mine if (r := load_report(n)) and r.is_class_model],
                     hide_index=True, width="stretch")
        st.caption("A class model is scored on its own class's clips, not on the shipped models' test: compare it "
                   "with the default model on those clips only.")
    # by model name (the rows show display names, e.g. "default (musicnn-head)")
    reports = {display_name(n, r.arch): r for n in available_models() if (r := load_report(n))}
    reports = {k: r for k, r in reports.items() if r.metrics.clean and r.metrics.clean.per_genre}
    if not reports:
        return
    labels = next(iter(reports.values())).labels
    f1 = {name: [r.metrics.clean.per_genre[g].f1 for g in labels] for name, r in reports.items()}
    show(lambda: plots.grouped_bars(f1, labels, ylabel="F1", title="Per-genre F1 (held-out artists)", scale=s.scale))
    cols = st.columns(min(3, len(reports)))
    for i, (name, r) in enumerate(reports.items()):
        with cols[i % len(cols)]:
            show(lambda: plots.confusion(r.metrics.clean.confusion, labels, title=name, scale=s.scale))
    curves = {name: r.curves for name, r in reports.items() if r.curves}
    st.subheader("Training curves")
    st.caption("The musicnn head is fitted in one convex optimisation (L-BFGS), so it has no curve.")
    for name, c in curves.items():
        st.markdown(f"**{name}**: one line per cross-validation fold, the split run and the final fit")
        show(lambda: plots.training_curves(c, scale=s.scale))
