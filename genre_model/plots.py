"""Matplotlib figures shared by the app and reports. Labelled axes, colour-blind-safe colours
(cividis for intensities, Okabe-Ito for categories), and a ``scale`` for projectors.

Figures are built with ``matplotlib.figure.Figure`` directly, never through pyplot's global state,
so that several app sessions can draw at the same time safely; no figure needs closing."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .features import MelParams, compress, mel_band_frequencies, mel_power

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
             "#D55E00", "#CC79A7", "#000000", "#999999", "#882255"]
HEAT = "cividis"


def _fig(width: float, height: float, scale: float) -> tuple[Figure, Axes]:
    # Taller, not wider, on a projector: a wider figure is shrunk to the page's width again, and
    # its larger fonts with it. At 100 dpi, 10 pt is 14 px; on a projector (scale 1.5) 15 pt is 21 px.
    fig = Figure(figsize=(width, height * scale), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def _fonts(ax: Axes, scale: float) -> None:
    size = 10 * scale
    ax.title.set_fontsize(size * 1.15)
    ax.xaxis.label.set_fontsize(size)
    ax.yaxis.label.set_fontsize(size)
    ax.tick_params(labelsize=size)


def waveform(samples: np.ndarray, sr: int, *, starts=None, ends=None, highlight: int | None = None,
             scale: float = 1.0) -> Figure:
    """The waveform (min/max envelope for long audio); chunks, when given, as bars below it."""
    fig, ax = _fig(10, 2.4, scale)
    n = len(samples)
    step = max(1, n // 4000)
    usable = n // step * step
    env = samples[:usable].reshape(-1, step)
    t = np.arange(env.shape[0]) * step / sr
    ax.fill_between(t, env.min(axis=1), env.max(axis=1), color=OKABE_ITO[4], linewidth=0)
    title = "Waveform"
    lane_ends = []
    if starts is not None:
        # Each chunk as a bar under the waveform, in the first lane where it overlaps nothing.
        for i, (s, e) in enumerate(zip(starts, ends)):
            free = next((k for k, end in enumerate(lane_ends) if end <= s + 1e-9), None)
            if free is None:
                free = len(lane_ends)
                lane_ends.append(e)
            lane_ends[free] = e
            lane = -1.12 - 0.12 * free
            gap = 0.03 * (e - s)  # so that neighbours in a lane stay distinguishable
            ax.plot([s + gap, e - gap], [lane, lane], color=OKABE_ITO[5] if highlight == i else "0.35",
                    linewidth=(5 if highlight == i else 3) * scale, solid_capstyle="butt")
            if highlight == i:
                ax.axvspan(s, e, color=OKABE_ITO[0], alpha=0.3)
        title = f"Waveform and its {len(starts)} chunks (bars below)"
    low = -1.18 - 0.12 * len(lane_ends) if starts is not None else -1.05
    ax.set(xlim=(0, n / sr), ylim=(low, 1.05), xlabel="time (s)",
           ylabel="amplitude", title=title)
    _fonts(ax, scale)
    return fig


def mel_spectrogram(samples: np.ndarray, params: MelParams, *, scale: float = 1.0, max_seconds: float = 120.0) -> Figure:
    """Mel spectrogram in dB, time in seconds and frequency in Hz (first ``max_seconds`` only)."""
    clip = samples[: int(max_seconds * params.sample_rate)]
    db = compress(mel_power(clip, params), "db")[0].numpy().T
    db = np.maximum(db, db.max() - 80.0)
    fig, ax = _fig(10, 3.2, scale)
    freqs = mel_band_frequencies(params)
    duration = len(clip) / params.sample_rate
    im = ax.imshow(db, origin="lower", aspect="auto", cmap="magma", extent=(0, duration, 0, params.n_mels))
    ticks = [i for i in range(0, params.n_mels, max(1, params.n_mels // 6))]
    ax.set_yticks(ticks, [f"{freqs[i]:.0f}" for i in ticks])
    ax.set(xlabel="time (s)", ylabel="frequency (Hz, mel scale)", title="Mel spectrogram (what the model hears)")
    cbar = fig.colorbar(im, ax=ax, pad=0.01)
    cbar.set_label("dB", fontsize=10 * scale)
    _fonts(ax, scale)
    return fig


def genre_timeline(probabilities: np.ndarray, starts, ends, labels: list[str], *, scale: float = 1.0) -> Figure:
    """Genres x time heat map of chunk probabilities, with each chunk's top genre marked (taller
    with more labels, so every row keeps its label)."""
    fig, ax = _fig(10, max(3.6, 0.3 * len(labels) + 0.8), scale)
    centres = (np.asarray(starts) + np.asarray(ends)) / 2
    if len(centres) > 1:
        edges = np.concatenate([[starts[0]], (centres[:-1] + centres[1:]) / 2, [ends[-1]]])
    else:
        edges = np.array([starts[0], ends[0]])
    mesh = ax.pcolormesh(edges, np.arange(len(labels) + 1), probabilities.T, cmap=HEAT, vmin=0, vmax=1)
    top = probabilities.argmax(axis=1)
    ax.scatter(centres, top + 0.5, marker="o", s=40 * scale, facecolor="white", edgecolor="black", zorder=3,
               label="top genre of the chunk")
    ax.set_yticks(np.arange(len(labels)) + 0.5, labels)
    ax.set(xlabel="time (s)", ylabel="genre", title="Genre timeline: probability per chunk")
    cbar = fig.colorbar(mesh, ax=ax, pad=0.01)
    cbar.set_label("probability", fontsize=10 * scale)
    ax.legend(loc="upper right", fontsize=10 * scale, framealpha=0.8)
    _fonts(ax, scale)
    return fig


def verdict_bars(scores: np.ndarray, labels: list[str], *, k: int = 10, scale: float = 1.0,
                 title: str = "Clip verdict") -> Figure:
    order = np.argsort(scores)[::-1][:k][::-1]
    fig, ax = _fig(6, 0.35 * len(order) + 0.8, scale)
    colors = [OKABE_ITO[4] if i != order[-1] else OKABE_ITO[5] for i in order]
    ax.barh([labels[i] for i in order], scores[order], color=colors)
    for y, i in enumerate(order):
        ax.text(min(scores[i] + 0.01, 0.93), y, f"{scores[i]:.0%}", va="center", fontsize=10 * scale)
    ax.set(xlim=(0, 1), xlabel="score", title=title)
    _fonts(ax, scale)
    return fig


def confusion(cm, labels: list[str], *, title: str = "Confusion matrix", scale: float = 1.0) -> Figure:
    cm = np.asarray(cm)
    fig, ax = _fig(6.5 * scale, 5.5, scale)  # square cells: wider too
    ax.imshow(cm, cmap=HEAT, vmin=0, vmax=max(1, cm.max()))
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=12 * scale,
                        color=text_colour_on(cm[i, j] / max(1, cm.max())))
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    _fonts(ax, scale * 1.3)  # tick labels readable from the back of a room
    return fig


def text_colour_on(fraction: float) -> str:
    """Black or white, whichever reads better on the heat map's colour at ``fraction`` of its range
    (by the colour's luminance)."""
    import matplotlib
    r, g, b, _ = matplotlib.colormaps[HEAT](float(fraction))
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"


def grouped_bars(values: dict[str, list[float]], labels: list[str], *, ylabel: str, title: str,
                 scale: float = 1.0) -> Figure:
    """One group of bars per label, one bar per series (e.g. per-genre F1 of several models)."""
    fig, ax = _fig(10, 3.5, scale)
    width = 0.8 / max(1, len(values))
    x = np.arange(len(labels))
    for i, (name, vals) in enumerate(values.items()):
        ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=name, color=OKABE_ITO[i % len(OKABE_ITO)])
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set(ylim=(0, 1.05), ylabel=ylabel, title=title)
    ax.legend(fontsize=10 * scale)
    _fonts(ax, scale)
    return fig


def mel_filters(params: MelParams, *, scale: float = 1.0, every: int = 8) -> Figure:
    """Every ``every``-th triangular mel filter over linear frequency: why low notes get more bands."""
    from .features import mel_filterbank
    fb = mel_filterbank(params)
    freqs = np.fft.rfftfreq(params.n_fft, 1 / params.sample_rate)
    fig, ax = _fig(10, 2.6, scale)
    for i in range(0, params.n_mels, every):
        ax.plot(freqs, fb[i] / fb[i].max(), color=OKABE_ITO[(i // every) % len(OKABE_ITO)])
    ax.set(xlabel="frequency (Hz)", ylabel="filter weight", title=f"Mel filters (every {every}th of {params.n_mels})")
    _fonts(ax, scale)
    return fig


def training_curves(curves: dict[str, list[dict]], *, scale: float = 1.0) -> Figure:
    """Training loss (solid) and validation accuracy (dashed, right axis) per epoch, one colour per run."""
    fig, ax = _fig(9, 3.5, scale)
    right = ax.twinx()
    for i, (name, history) in enumerate(curves.items()):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        epochs = [r["epoch"] + 1 for r in history]
        ax.plot(epochs, [r["train_loss"] for r in history], color=colour, label=name)
        if any("val_accuracy" in r for r in history):
            right.plot(epochs, [r.get("val_accuracy", np.nan) for r in history], color=colour, linestyle="--")
    ax.set(xlabel="epoch", ylabel="training loss (solid)", title="Training curves")
    right.set(ylabel="validation accuracy (dashed)", ylim=(0, 1.05))
    ax.legend(fontsize=10 * scale, ncols=min(6, max(1, len(curves))))
    _fonts(ax, scale)
    _fonts(right, scale)
    return fig
