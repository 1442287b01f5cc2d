"""Render one analysed clip: verdict, timeline, chunk player, waveform, spectrogram, downloads."""

from __future__ import annotations

import json

import streamlit as st

from genre_model import plots
from genre_model.features import MelParams
from genre_model.predict import Prediction
from genre_model.tags import hears_text
from webapp import charts
from webapp.analysis import Analysis, prediction_csv, segment_wav
from webapp.ui import Settings, show_cached


AGGREGATE_NAMES = {"mean": "mean probability", "vote": "majority vote"}


def aggregate_choice() -> str:
    """How chunk results become the clip verdict; changing it recomputes nothing."""
    return st.radio("Clip verdict by", list(AGGREGATE_NAMES), key="aggregate", horizontal=True,
                    format_func=AGGREGATE_NAMES.get,
                    help="Mean probability averages every chunk's probabilities; majority vote counts each "
                         "chunk's top genre.")


def verdict(pred: Prediction, aggregate: str) -> None:
    """The verdict, or, when the recording is too noisy or holds no music, the advice instead of a
    confident-looking genre (the best guess stays visible, small)."""
    j = pred.judgement(aggregate)
    how = "mean chunk probability" if aggregate == "mean" else "share of chunk votes"
    quality = pred.quality()
    heard = (f" · music-to-noise about {quality['snr_db']:.0f} dB" if quality["snr_db"] is not None else "")
    with st.container(key="verdict"):  # the page's headline: sized by webapp.ui's CSS, larger on a projector
        st.markdown(f"## {j.headline}" if j.cannot_judge else f"## Verdict: **{j.genre.upper()}** &nbsp; {j.confidence:.0%}")
    if j.cannot_judge:
        st.caption(f"Best guess {j.genre} ({j.confidence:.0%}), not to be trusted · {len(pred.starts)} chunks · "
                   f"model `{pred.model}`{heard}")
    else:
        st.caption(f"{how} (calibrated) over {len(pred.starts)} chunks · model `{pred.model}`{heard}")
    if pred.hears():
        st.markdown(f"**The model hears:** {hears_text(pred.hears())}",
                    help="The backbone's own words: the Million Song Dataset tags it was trained on, most likely "
                         "first. They are not the genre verdict: argue with them.")
    for message in j.advice:
        st.warning(message)
    for w in pred.warnings:
        st.info(w)


def chunk_label(pred: Prediction, i: int) -> str:
    return f"{pred.starts[i]:.1f}-{pred.ends[i]:.1f} s · {pred.chunk_genres[i]}"


def render(a: Analysis, s: Settings, mel: MelParams, *, key: str = "main") -> None:
    pred, clip = a.prediction, a.clip
    aggregate = aggregate_choice()
    verdict(pred, aggregate)
    # Figures are cached by everything they depend on, so a rerun only redraws what changed.
    base = (a.sha, pred.model, s.chunk_seconds, s.hop_seconds, s.scale)
    left, right = st.columns([3, 2])
    with left:
        show_cached(base + ("top3", aggregate), lambda: plots.verdict_bars(
            pred.scores(aggregate), pred.labels, k=3, scale=s.scale, title="Top 3 genres"))
    with right:
        st.markdown(f"**{a.name}** · {clip.duration:.1f} s")
        st.audio(segment_wav(clip, 0, clip.duration), format="audio/wav")
    st.markdown("**Genre timeline** · click a chunk to hear it")
    clicked = charts.timeline_chart(pred.probabilities, pred.starts, pred.ends, pred.labels,
                                    key=f"timeline_{key}_{a.sha[:12]}", height=int(280 * s.scale), scale=s.scale)
    applied = f"timeline_applied_{key}"
    if clicked is not None and st.session_state.get(applied) != (a.sha, clicked):
        st.session_state[applied] = (a.sha, clicked)
        st.session_state[f"chunk_{key}"] = clicked  # the chunk player below follows the click

    st.subheader("Listen to one chunk")
    options = list(range(len(pred.starts)))
    if st.session_state.get(f"chunk_{key}", 0) not in options:  # a shorter clip than the last one
        st.session_state.pop(f"chunk_{key}")
    chosen = st.select_slider("Chunk", options, format_func=lambda i: chunk_label(pred, i), key=f"chunk_{key}")
    c1, c2 = st.columns([2, 3])
    with c1:
        st.audio(segment_wav(clip, pred.starts[chosen], pred.ends[chosen]), format="audio/wav")
        st.caption(f"Exactly {pred.starts[chosen]:.2f}-{pred.ends[chosen]:.2f} s of the input.")
    with c2:
        show_cached(base + ("chunk", chosen), lambda: plots.verdict_bars(
            pred.probabilities[chosen], pred.labels, k=5, scale=s.scale * 0.8, title=f"Chunk {chosen + 1}: top 5"))
    show_cached(base + ("waveform", chosen), lambda: plots.waveform(
        clip.samples, clip.sample_rate, starts=pred.starts, ends=pred.ends, highlight=chosen, scale=s.scale))
    show_cached((a.sha, mel, s.scale, "mel"), lambda: plots.mel_spectrogram(clip.samples, mel, scale=s.scale))

    d1, d2 = st.columns(2)
    stem = a.name.rsplit(".", 1)[0] or "clip"
    d1.download_button("Download chunks (CSV)", prediction_csv(pred), file_name=f"{stem}-genres.csv",
                       mime="text/csv", key=f"csv_{key}")
    d2.download_button("Download result (JSON)", json.dumps({"file": a.name, **pred.to_dict(aggregate)}, indent=1),
                       file_name=f"{stem}-genres.json", mime="application/json", key=f"json_{key}")
