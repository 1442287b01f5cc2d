"""Interactive charts (Altair, drawn by the browser): a confusion matrix whose cells can be clicked
and a genre timeline whose chunks can be clicked. Each returns what was clicked, or None."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from genre_model import plots


def classroom_fonts(chart, scale: float = 1.0):
    """Axis and legend text readable in a classroom: 14 px labels (21 px on a projector)."""
    return chart.configure_axis(labelFontSize=14 * scale, titleFontSize=15 * scale).configure_legend(
        labelFontSize=14 * scale, titleFontSize=15 * scale)


def _selected(event, name: str) -> list[dict]:
    try:
        return list(event.selection[name])
    except (AttributeError, KeyError, TypeError):
        return []


def confusion_chart(cm, labels: list[str], *, key: str, height: int = 360, scale: float = 1.0) -> tuple[str, str] | None:
    """The confusion matrix (rows true, columns predicted); returns the clicked (true, predicted).
    The number in each cell is black on light cells and white on dark ones."""
    cm = np.asarray(cm)
    top = max(1, int(cm.max()))
    data = pd.DataFrame([{"true": t, "predicted": p, "clips": int(cm[i, j]),
                          "ink": plots.text_colour_on(cm[i, j] / top)}
                         for i, t in enumerate(labels) for j, p in enumerate(labels)])
    pick = alt.selection_point(name="cell", fields=["true", "predicted"], on="click")
    base = alt.Chart(data).encode(x=alt.X("predicted:N", sort=labels, title="predicted genre"),
                                  y=alt.Y("true:N", sort=labels, title="true genre"))
    cells = base.mark_rect().encode(color=alt.Color("clips:Q", scale=alt.Scale(scheme="cividis", domain=[0, top]),
                                                    legend=None),
                                    opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55)),
                                    tooltip=["true", "predicted", "clips"]).add_params(pick)
    text = base.mark_text(fontSize=14 * scale).encode(text=alt.condition("datum.clips > 0", "clips:Q", alt.value("")),
                                                      # a value, not a second colour scale: the layers share one
                                                      color=alt.condition("datum.ink == 'black'", alt.value("black"),
                                                                          alt.value("white")))
    chart = classroom_fonts((cells + text).properties(height=int(height * scale)), scale)
    event = st.altair_chart(chart, on_select="rerun", key=key, width="stretch")
    chosen = _selected(event, "cell")
    return (chosen[0]["true"], chosen[0]["predicted"]) if chosen else None


ROW_PX = 26  # the timeline's height per label: every row keeps its label, however many labels a class adds


def timeline_spec(probabilities: np.ndarray, starts, ends, labels: list[str], *, height: int = 300,
                  scale: float = 1.0) -> alt.Chart:
    """Genre x time: each chunk's probability per genre, every genre row labelled."""
    rows = []
    for i, (s, e, p) in enumerate(zip(starts, ends, probabilities)):
        for g, v in zip(labels, p):
            rows.append({"chunk": i, "start": float(s), "end": float(e), "genre": g, "probability": float(v),
                         "mid": (float(s) + float(e)) / 2})
    data = pd.DataFrame(rows)
    pick = alt.selection_point(name="chunk", fields=["chunk"], on="click")
    chart = alt.Chart(data).mark_rect().encode(
        x=alt.X("start:Q", title="time (s)"),
        x2="end:Q",
        y=alt.Y("genre:N", sort=labels, title=None, axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("probability:Q", scale=alt.Scale(scheme="cividis", domain=[0, 1]), title="p"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.6)),
        tooltip=["chunk", "start", "end", "genre", alt.Tooltip("probability:Q", format=".2f")],
    ).add_params(pick).properties(height=max(height, int(ROW_PX * scale * len(labels))))
    return classroom_fonts(chart, scale)


def timeline_chart(probabilities: np.ndarray, starts, ends, labels: list[str], *, key: str,
                   height: int = 300, scale: float = 1.0) -> int | None:
    """The genre timeline (:func:`timeline_spec`); returns the index of the clicked chunk."""
    event = st.altair_chart(timeline_spec(probabilities, starts, ends, labels, height=height, scale=scale),
                            on_select="rerun", key=key, width="stretch")
    chosen = _selected(event, "chunk")
    return int(chosen[0]["chunk"]) if chosen else None
