"""Compare models from their evaluation reports (nothing is recomputed here)."""

from __future__ import annotations

import streamlit as st

from genre_model import plots
from webapp.reports import comparison_rows, load_report
from webapp.ui import settings, show


def run() -> None:
    s = settings()
    st.title("Compare models")
    rows = comparison_rows()
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Accuracy is measured on the evaluation named in each row (out of fold, or a held-out test split). GTZAN excerpts of one genre share "
               "artists, so random or k-fold splits overstate accuracy on new music; compare models only on the same "
               "evaluation.")
    reports = {r["model"]: load_report(r["model"]) for r in rows}
    reports = {k: v for k, v in reports.items() if v and v.get("metrics", {}).get("clean")}
    if not reports:
        return
    labels = next(iter(reports.values()))["labels"]
    f1 = {name: [r["metrics"]["clean"]["per_genre"][g]["f1"] for g in labels] for name, r in reports.items()}
    show(lambda: plots.grouped_bars(f1, labels, ylabel="F1", title="Per-genre F1 (out of fold)", scale=s.scale))
    cols = st.columns(min(3, len(reports)))
    for i, (name, r) in enumerate(reports.items()):
        with cols[i % len(cols)]:
            show(lambda: plots.confusion(r["metrics"]["clean"]["confusion"], labels, title=name, scale=s.scale))
    curves = {name: r["curves"] for name, r in reports.items() if r.get("curves")}
    st.subheader("Training curves")
    if not curves:
        st.info("No model here records training curves: the musicnn head is fitted in one convex optimisation "
                "(L-BFGS) rather than over epochs.")
    for name, c in curves.items():
        st.markdown(f"**{name}**: one line per cross-validation fold and the final fit")
        show(lambda: plots.training_curves(c, scale=s.scale))
