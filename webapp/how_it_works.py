"""How it works, step by step, on the current clip (or a generated one)."""

from __future__ import annotations

import streamlit as st

from genre_model import plots, synth
from genre_model.models import REGISTRY
from genre_model.tags import hears_text
from webapp import analysis
from webapp.results import verdict
from webapp.ui import classifier, settings, show


# What the selected model reads, said under the spectrogram (every model starts from the same audio).
_MODEL_INPUT = {
    "log-mel": "This picture is what the network actually looks at.",
    "mfcc5": ("This model reads a compressed version of it: 20 MFCCs (the spectrum's overall shape), how they "
              "change, their average between beats, and the 12 pitch classes (chroma), stacked as 5 layers."),
    "tabular": ("This model never sees the picture: it reads 57 numbers summarising 30 s of audio (averages and "
                "spreads of brightness, loudness, pitch classes, MFCCs, and the tempo)."),
}


def run() -> None:
    s = settings()
    clf = classifier(s.model)
    st.title("How it works")
    a = st.session_state.get("current_analysis")
    if a is None:
        st.info("No clip classified yet on the Classify page, so this page uses 12 s of generated music "
                "(drums, bass and chords).")
        data = synth.wav_bytes(synth.music_like(12.0, sr=22050, seed=7), 22050)
        a = analysis.analyse(clf, "generated example", data, chunk_seconds=s.chunk_seconds,
                             hop_seconds=s.hop_seconds, max_seconds=s.max_seconds)
    clip, pred, mel = a.clip, a.prediction, clf.info.mel_params
    st.markdown(f"Clip: **{a.name}**, {clip.duration:.1f} s, model `{pred.model}`.")

    st.header("1. Sound is a waveform")
    st.markdown(f"The file is decoded, mixed to one channel and resampled to {clip.sample_rate} samples per second "
                f"(the original had {clip.source_sample_rate} Hz, {clip.source_channels} channel(s)).")
    show(lambda: plots.waveform(clip.samples, clip.sample_rate, scale=s.scale))

    st.header("2. From waveform to frequencies: the mel scale")
    st.markdown(f"Every {mel.hop_length / mel.sample_rate * 1000:.0f} ms, a {mel.n_fft / mel.sample_rate * 1000:.0f} ms "
                f"slice is turned into its frequencies (a Fourier transform). {mel.n_mels} mel filters then group "
                "them the way hearing does: narrow bands for low notes, wide ones for high notes.")
    show(lambda: plots.mel_filters(mel, scale=s.scale))

    st.header("3. The mel spectrogram")
    st.markdown("Time runs left to right, pitch bottom to top, loudness is colour. "
                + _MODEL_INPUT.get(clf.info.feature_kind, "") +
                " Drums show as vertical lines, held notes as horizontal ones.")
    show(lambda: plots.mel_spectrogram(clip.samples, mel, scale=s.scale))

    st.header("4. Cut into chunks")
    st.markdown(f"The model looks at {s.chunk_seconds:g} s at a time, starting a new chunk every {s.hop_seconds:g} s "
                f"({len(pred.starts)} chunks here). The last chunk is aligned with the end of the clip.")
    show(lambda: plots.waveform(clip.samples, clip.sample_rate, starts=pred.starts, ends=pred.ends, scale=s.scale))

    st.header("5. A guess per chunk")
    arch = REGISTRY[clf.info.arch]
    st.markdown(f"For each chunk {arch.network} gives a probability for each genre. The network: {arch.summary}.")
    show(lambda: plots.genre_timeline(pred.probabilities, pred.starts, pred.ends, pred.labels, scale=s.scale))

    if pred.hears():
        st.markdown(
            "**What the network hears.** Before our genre layer was added, musicnn learned to tag a million songs "
            "with the 50 words Last.fm listeners used most for them (the Million Song Dataset tags: rock, pop, jazz, "
            "80s, guitar, female vocalists, dance...). It still gives those tags: for this clip its top five are "
            f"**{hears_text(pred.hears())}**. They come from far more artists than our genre examples, so when the "
            "verdict and the tags disagree, the tags are worth arguing with.")

    st.header("6. One verdict for the clip")
    c1, c2 = st.columns(2)
    with c1:
        show(lambda: plots.verdict_bars(pred.scores("mean"), pred.labels, k=5, scale=s.scale, title="Mean probability"))
    with c2:
        show(lambda: plots.verdict_bars(pred.scores("vote"), pred.labels, k=5, scale=s.scale, title="Majority vote"))
    verdict(pred, "mean")

    st.header("7. Knowing when not to trust it")
    rules = pred.rules
    q = pred.quality()
    heard = (f"Here it estimates the music about {q['snr_db']:.0f} dB above the noise, and a {q['no_music']:.0%} "
             "chance that there is no music at all." if q["snr_db"] is not None else "")
    st.markdown(
        "The probabilities are **calibrated**: the model was tested on artists it never heard, and its scores were "
        "rescaled so that, say, 70% means right about 70% of the time. It also listens for trouble: a small extra "
        f"layer estimates how loud the music is compared with talk and noise in the room. {heard} "
        f"It says it **cannot judge** when the best genre scores below {rules.unsure_below:.0%} (unsure), when the "
        "audio is unlike anything it learned from (unfamiliar: a test tone, noise, speech), or when the room is too "
        "noisy. These limits were chosen on held-out artists so that clean music is rarely flagged.")
