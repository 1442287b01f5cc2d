"""Charts for a classroom: the numbers in a confusion matrix read on any cell."""

from __future__ import annotations

import numpy as np
import pytest

from genre_model import plots


def test_cell_text_is_white_on_dark_cells_and_black_on_light_ones():
    assert plots.text_colour_on(0.0) == "white" and plots.text_colour_on(0.15) == "white"  # dark navy
    assert plots.text_colour_on(1.0) == "black" and plots.text_colour_on(0.9) == "black"  # bright yellow


def test_the_confusion_figure_colours_each_number_by_its_cell():
    cm = np.array([[60, 10], [3, 40]])
    fig = plots.confusion(cm, ["a", "b"])
    colours = {t.get_text(): t.get_color() for t in fig.axes[0].texts}
    assert colours["60"] == "black" and colours["10"] == "white" and colours["3"] == "white"
    assert min(t.get_fontsize() for t in fig.axes[0].get_xticklabels()) >= 11


def test_every_timeline_row_is_labelled_however_many_labels():
    from webapp.charts import ROW_PX, timeline_spec
    labels = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock", "chiptune"]
    probs = np.full((4, len(labels)), 1 / len(labels))
    spec = timeline_spec(probs, [0, 1.5, 3, 4.5], [3, 4.5, 6, 7.5], labels, height=280).to_dict()
    assert spec["encoding"]["y"]["axis"]["labelOverlap"] is False  # Vega-Lite would drop every other label
    assert spec["height"] >= ROW_PX * len(labels) and spec["encoding"]["y"]["sort"] == labels
    fig = plots.genre_timeline(probs, np.array([0, 1.5, 3, 4.5]), np.array([3, 4.5, 6, 7.5]), labels)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == labels


@pytest.mark.parametrize("scale, least", [(1.0, 14), (1.5, 18)])
def test_chart_text_is_readable_in_a_classroom_and_larger_on_a_projector(scale, least):
    from webapp.charts import timeline_spec
    probs = np.full((2, 3), 1 / 3)
    config = timeline_spec(probs, [0, 1.5], [3, 4.5], ["a", "b", "c"], scale=scale).to_dict()["config"]
    sizes = [config[part][k] for part in ("axis", "legend") for k in ("labelFontSize", "titleFontSize")]
    assert min(sizes) >= least
