"""The Live page: the browser microphone streams to the server over WebRTC (streamlit-webrtc), one
worker per server classifies the newest chunk every hop, and the page redraws every half second:
the big "now playing" genre, a 60 s timeline, the level meter and the "cannot judge" hints.

No internet is needed: no STUN server unless one is set (``GENRE_ICE_SERVERS``, a comma-separated
list of stun:/turn: URLs, for networks where the browser and the server cannot see each other).
"""

from __future__ import annotations

import io
import os
import sys
import time

import numpy as np
import soundfile as sf
import streamlit as st

from genre_model.live import (MAX_TAKE_MINUTES, NO_AUDIO_SECONDS, PHONE_TAKE_MINUTES, QUIET_DBFS, SILENCE_DBFS,
                              LiveSession, LiveWorker, frame_to_mono)
from genre_model.plots import OKABE_ITO
from genre_model.tags import hears_text
from webapp import join
from webapp.ui import classifier, settings

# Raw audio: echo cancellation, noise suppression and automatic gain control are made for voices and
# damage music (they turn steady music down and cut parts of it out).
MEDIA = {"audio": {"echoCancellation": False, "noiseSuppression": False, "autoGainControl": False}, "video": False}
TRANSLATIONS = {
    "start": "Start listening",
    "stop": "Stop",
    "device_access_denied": ("The microphone was blocked. Allow it for this site (the icon at the left of the "
                             "address bar), then press Start again"),
    "device_not_available": "No microphone was found. Plug one in or use another device",
    "media_api_not_available": ("This browser cannot share its microphone here. Open the app over https (see the "
                                "README) or on this computer at localhost"),
}


# Phones listening at once on a 2-core laptop: with the projector, about 0.9 of one core (measured with
# python -m webapp.dev.live_bench --room, README), the other core left to the laptop and its browser.
DEFAULT_MAX_LISTENERS = 10


@st.cache_resource(show_spinner=False)
def live_worker() -> LiveWorker:
    """The one inference thread of this server, shared by every listener."""
    return LiveWorker()


def rtc_configuration() -> dict:
    servers = [u.strip() for u in os.environ.get("GENRE_ICE_SERVERS", "").split(",") if u.strip()]
    return {"iceServers": [{"urls": servers}] if servers else []}


def max_listeners() -> int:
    """How many phones may listen at once (``GENRE_MAX_LISTENERS``); the projector's screen always may."""
    return int(os.environ.get("GENRE_MAX_LISTENERS", DEFAULT_MAX_LISTENERS))


def is_projector() -> bool:
    """Whether this browser is the projector's: the laptop itself by default, or marked on the page."""
    local = (st.context.ip_address or "127.0.0.1") in ("127.0.0.1", "::1", "localhost")
    return st.toggle("This screen is the projector", value=local, key="live_projector",
                     help="The projector's screen keeps its update rate when many phones listen; phones slow down "
                          "first. On by default on the laptop running the app.")


def room_is_full(priority: bool) -> bool:
    return not priority and live_worker().n_listeners(priority=False) >= max_listeners()


def _room_full_message() -> None:
    n = live_worker().n_listeners(priority=False)
    st.warning(f"The room is full ({n} listening). Record a clip with Record (browser) on the Classify page instead; "
               "it works on every phone. Or try again in a minute.", icon=":material/group:")
    st.button("Try again", key="live_try_again")


def _new_session(clf, priority: bool) -> LiveSession:
    old = st.session_state.get("live_session")
    if old is not None:
        old.closed = True
    session = LiveSession.for_model(clf, priority=priority,
                                    max_minutes=MAX_TAKE_MINUTES if priority else PHONE_TAKE_MINUTES)
    st.session_state["live_session"] = session
    st.session_state["live_labels"] = clf.labels
    live_worker().register(session, clf)
    return session


def _take_wav(session: LiveSession) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, session.take(), session.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _level_bar(level: float) -> str:
    fraction = min(1.0, max(0.0, (level + 70) / 70))
    colour = OKABE_ITO[5] if level < QUIET_DBFS else OKABE_ITO[2]
    return (f"<div style='background:#ddd;height:14px;border-radius:7px'><div style='width:{fraction:.0%};"
            f"height:14px;border-radius:7px;background:{colour}'></div></div>")


def _timeline(session: LiveSession, labels: list[str], scale: float) -> None:
    """The last 60 s as a strip of coloured blocks, one per update (plain HTML: no figure to draw on
    the server twice a second, nothing for the browser to re-layout)."""
    results = [r for r in list(session.results) if r.probabilities is not None]
    if not results:
        return
    start = max(0.0, session.seconds - 60)  # the strip always spans 60 s, from start
    hop = session.hop / session.sample_rate
    blocks = []
    for r in results:
        if r.end - hop < start:
            continue
        g = int(np.argmax(r.probabilities))
        blocks.append(f"<div title='{labels[g]} {np.max(r.probabilities):.0%} at {r.end:.0f} s' style='position:absolute;"
                      f"left:{(r.end - hop - start) / 60:.2%};width:{hop / 60:.2%};top:0;bottom:0;"
                      f"background:{OKABE_ITO[g % len(OKABE_ITO)]};opacity:{0.35 + 0.65 * float(np.max(r.probabilities)):.2f}'>"
                      "</div>")
    height = int(44 * scale)
    legend = " ".join(f"<span style='white-space:nowrap;margin-right:12px'><span style='display:inline-block;width:12px;"
                      f"height:12px;background:{OKABE_ITO[i % len(OKABE_ITO)]}'></span> {g}</span>"
                      for i, g in enumerate(labels))
    st.markdown(f"<div style='font-size:{0.9 * scale:.2f}rem'>The last minute (newest on the right)</div>"
                f"<div style='position:relative;height:{height}px;background:#eee;border-radius:6px;overflow:hidden'>"
                + "".join(blocks) + f"</div><div style='font-size:{0.8 * scale:.2f}rem;margin-top:4px'>{legend}</div>",
                unsafe_allow_html=True)


def _show(session: LiveSession, labels: list[str], scale: float) -> None:
    """The live display (redrawn every half second by a fragment)."""
    size = int(64 * scale)
    latest = session.latest
    if session.waiting_for_audio():
        st.error(f"No audio has arrived for {NO_AUDIO_SECONDS:.0f} seconds. The network may block the live stream "
                 "(WebRTC): use Record (browser) on the Classify page instead, which works everywhere.")
        return
    level = session.level
    st.markdown(_level_bar(level), unsafe_allow_html=True)
    hint = ""
    if session.first_frame_at is not None and level < SILENCE_DBFS:
        hint = "Too quiet: is the microphone on? Turn the music up."
    elif level < QUIET_DBFS:
        hint = "Quiet: turn the music up or move closer to the speaker."
    if latest is None or latest.smoothed is None:
        st.markdown(f"<div class='now-playing' style='font-size:{size}px;font-weight:700;color:#888'>Listening…</div>",
                    unsafe_allow_html=True)
        st.caption(hint or f"The first verdict comes after {session.chunk / session.sample_rate:.0f} s of audio.")
        return
    j = latest.judgement  # of the smoothed window: exactly what the big verdict shows
    if j.cannot_judge:
        st.markdown(f"<div class='now-playing' style='font-size:{size}px;font-weight:700;color:#888'>{j.headline}</div>",
                    unsafe_allow_html=True)
        hint = hint or (j.advice[0] if j.advice else "")
    else:
        dim = "color:#888;" if j.doubtful else ""
        st.markdown(f"<div class='now-playing' style='font-size:{size}px;font-weight:800;{dim}'>{j.headline}</div>",
                    unsafe_allow_html=True)
    raw = latest.probabilities
    note = (f"Last {session.chunk / session.sample_rate:.0f} s alone: "
            + (f"{labels[int(np.argmax(raw))]} {np.max(raw):.0%}" if raw is not None else "too quiet")
            + f" · heard {session.seconds:.0f} s · update {session.classified} · level {level:.0f} dBFS")
    if session.waiting:
        note += " · busy room: fewer updates for phones"
    if j.flags["unsure"]:
        note += " · unsure"
    if j.flags["unfamiliar"]:
        note += " · unlike the training music"
    st.caption(note)
    if latest.hears and not j.cannot_judge:
        st.markdown(f"<div style='font-size:{max(18, size // 3)}px'>The model hears: {hears_text(latest.hears)}</div>",
                    unsafe_allow_html=True)
    if hint:
        st.warning(hint)
    _timeline(session, labels, scale)


def run() -> None:
    from streamlit_webrtc import WebRtcMode, create_audio_sink_track, webrtc_streamer
    s = settings()
    clf = classifier(s.model)
    head, qr = st.columns([3, 1], vertical_alignment="top")
    with head:
        st.title("Live: what is playing now?")
        st.caption(f"Press Start and play music near the microphone. The verdict follows the last "
                   f"{clf.info.chunk_seconds:g} s and updates every {clf.info.hop_seconds:g} s; the big genre is smoothed "
                   "over the last few updates so it does not flicker. Phones join by scanning the code.")
    with qr:
        join.show(width=int(240 * s.scale))
    session = st.session_state.get("live_session")

    def on_frame(frame) -> None:  # the aiortc thread: store the frame, nothing more
        current = st_session_box[0]
        if current is not None:
            if current.first_frame_at is None:  # the benchmark times the played audio from this
                print(f"live: first frame at {time.time():.3f}", file=sys.stderr, flush=True)
            current.push(frame_to_mono(frame.to_ndarray(), len(frame.layout.channels)), frame.sample_rate)

    def on_ended() -> None:
        current = st_session_box[0]
        if current is not None:
            current.closed = True  # the worker stops processing it and says so in the log

    st_session_box = st.session_state.setdefault("live_box", [session])
    priority = is_projector()
    listening = session is not None and not session.closed
    refused = st.session_state.get("live_refused", False)  # Start was pressed as the room filled up
    full = not listening and room_is_full(priority)
    playing = False
    if full and not refused:  # no stream at all: the room is full (what is on screen below stays)
        _room_full_message()
    else:
        try:
            sink = create_audio_sink_track(on_frame, key="live-sink", on_ended=on_ended)
            ctx = webrtc_streamer(key="live", mode=WebRtcMode.SENDONLY, sink_audio_track=sink,
                                  media_stream_constraints=MEDIA, rtc_configuration=rtc_configuration(),
                                  translations=TRANSLATIONS, desired_playing_state=False if refused else None)
            playing = bool(ctx.state.playing or ctx.state.signalling)
            if refused:
                _room_full_message()
                if not playing:
                    st.session_state.pop("live_refused")
        except Exception as exc:  # the third-party component cannot run here; the rest of the page still works
            st.warning(f"Live listening is unavailable here ({type(exc).__name__}: {exc}). Use Record (browser) on "
                       "the Classify page instead.")
    if playing and session is not None and not session.closed:
        session.priority = priority  # the projector switch can change while listening
    if playing and refused:
        return
    if playing and (session is None or session.closed or st.session_state.get("live_model") != s.model):
        if room_is_full(priority):  # another phone took the last place since this page was drawn
            st.session_state["live_refused"] = True
            st.rerun()
        session = _new_session(clf, priority)
        st_session_box[0] = session
        st.session_state["live_model"] = s.model
    if session is None:
        st.info("Nothing heard yet. Press **Start listening** and allow the microphone when the browser asks. If a "
                "red *NotAllowedError* appears above, the microphone is blocked for this site: allow it (the icon at "
                "the left of the address bar) and press Start again; on a phone, open the app over https.")
        return
    labels = st.session_state.get("live_labels", clf.labels)

    if playing:
        # The projector redraws twice a second; a phone (a new verdict every 3 s) every 1.5 s.
        @st.fragment(run_every=0.5 if session.priority else 1.5)
        def live_display() -> None:
            _show(session, labels, s.scale)
        live_display()
        return
    # Stopped: the take stays, and can be analysed in full.
    session.closed = True
    if session.seconds < 1.0:
        st.info("The stream stopped before any audio arrived. Press Start to listen again.")
        return
    _show(session, labels, s.scale)
    kept = (f"the last {session.capacity / session.sample_rate / 60:g} minutes of it" if session.truncated
            else "all of it")
    st.success(f"Stopped after {session.seconds:.0f} s; {kept} is kept.")
    if st.button("Open the take in Classify (timeline, chunks, spectrogram, label and save)", type="primary",
                 key="live_open"):
        st.session_state["pending"] = (f"live-take-{time.strftime('%H%M%S')}.wav", _take_wav(session))
        st.switch_page("pages/classify.py")

