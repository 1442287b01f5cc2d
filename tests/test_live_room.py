"""A whole class listening live (#18): one batched model pass for every listener, the projector's
listener served every hop while phones slow down, a full room refused politely, and listeners who
leave forgotten (with their memory)."""

import gc
import os
import time
import weakref

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from genre_model import live
from genre_model.live import LiveSession, LiveWorker, classify_chunk, classify_chunks
from tests.conftest import ROOT
from tests.test_live import SOURCE, SR, _push


def test_one_batched_pass_gives_each_listener_what_its_own_pass_gives(classifier):
    sessions = []
    for seed in range(4):
        s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
        _push(s, 3.2, seed=seed)
        sessions.append(s)
    quiet = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
    quiet.push(np.zeros(SOURCE * 4, np.float32), SOURCE)
    batch = [(s, s.next_end) for s in sessions + [quiet]]
    together = classify_chunks(batch, classifier)
    for (s, end), r in zip(batch, together):
        alone = classify_chunk(s, classifier, end)
        if alone.probabilities is None:
            assert r.probabilities is None  # a silent listener is not classified either way
            continue
        assert np.allclose(r.probabilities, alone.probabilities, atol=1e-5)
        assert r.novelty == pytest.approx(alone.novelty, abs=1e-4)
        assert np.allclose(r.tags, alone.tags, atol=1e-5)
    assert not np.allclose(together[0].probabilities, together[1].probabilities)  # each its own audio


class SlowModel:
    """A stand-in classifier whose pass costs 0.25 s per chunk: a worker saturated by six listeners."""

    labels = ["a", "b"]

    class info:
        features = "raw"

    device = "cpu"
    chunks_seen = 0

    def predict_chunks(self, x):
        n = len(x)
        SlowModel.chunks_seen += n
        time.sleep(0.25 * n)
        return {k: np.full(n, 0.1) for k in ("novelty", "no_music", "not_music", "snr_db")} | {
            "probabilities": np.tile([0.7, 0.3], (n, 1))}


def test_the_projector_keeps_its_rate_while_phones_slow_down(monkeypatch):
    monkeypatch.setattr(live, "model_input", lambda kind, chunks, device: chunks)
    worker = LiveWorker(poll_seconds=0.01)
    hop = 0.5
    projector = LiveSession(SR, chunk_seconds=1.0, hop_seconds=hop, priority=True)
    phones = [LiveSession(SR, chunk_seconds=1.0, hop_seconds=hop, max_minutes=0.5) for _ in range(5)]
    clf = SlowModel()
    try:
        for s in [projector] + phones:
            _push(s, 1.0)
            worker.register(s, clf)
        started, fed = time.time(), 1.0
        while time.time() - started < 8.0:  # the stream goes on in real time
            elapsed = time.time() - started
            while fed < 1.0 + elapsed:
                for i, s in enumerate([projector] + phones):
                    _push(s, 0.1, seed=i)
                fed += 0.1
            time.sleep(0.05)
        hops = (time.time() - started) / hop
    finally:
        worker.stop()
    # 6 listeners x 0.25 s each would take 1.5 s per 0.5 s hop: the worker is saturated
    assert sum(p.dropped for p in phones) > 0  # phones skipped chunks...
    assert projector.classified >= 0.6 * hops, (projector.classified, hops)
    assert max(p.classified for p in phones) < projector.classified  # ...and got fewer updates
    assert min(p.classified for p in phones) >= 2  # but none was starved


def test_closed_and_silent_listeners_are_forgotten_with_their_memory(monkeypatch):
    monkeypatch.setattr(live, "IDLE_SECONDS", 0.3)
    worker = LiveWorker(poll_seconds=0.01)
    try:
        closed, lost, staying = (LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5) for _ in range(3))
        for s in (closed, lost, staying):
            s.push(np.zeros(4800, np.float32), SOURCE)
            worker.register(s, object())
        refs = [weakref.ref(closed), weakref.ref(lost)]
        closed.closed = True  # the tab was closed: the stream ended
        deadline = time.time() + 10
        while worker.n_listeners() > 1 and time.time() < deadline:
            staying.push(np.zeros(480, np.float32), SOURCE)  # this one keeps sending (silence, no chunk due)
            time.sleep(0.05)
        assert worker.n_listeners() == 1 and lost.closed  # the phone that went quiet: gone within seconds
        del closed, lost
        gc.collect()
        assert all(r() is None for r in refs)  # nothing holds their buffers any more
    finally:
        worker.stop()


def test_a_phone_beyond_the_cap_is_told_the_room_is_full_and_gets_no_stream(monkeypatch, tmp_path):
    monkeypatch.setenv("GENRE_MAX_LISTENERS", "0")
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state["live_projector"] = False  # a phone, not the projector
    at.run()
    at.switch_page("pages/live.py")
    at.run()
    assert not at.exception, at.exception
    assert any("The room is full (0 listening)" in w.value and "Record (browser)" in w.value for w in at.warning)
    assert not [e for e in at.main if getattr(e, "key", None) == "live"]  # no stream component
    at.session_state["live_projector"] = True  # the projector's screen is always let in
    at.run()
    assert not any("The room is full" in w.value for w in at.warning)


def test_phone_takes_are_small():
    phone = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5, max_minutes=live.PHONE_TAKE_MINUTES)
    assert phone._buffer.nbytes <= 4 * 1024 * 1024
