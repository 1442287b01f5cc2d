"""The live chunk scheduler on generated audio: frames in, the newest chunk classified every hop,
stale chunks dropped when behind, smoothing, a bounded buffer, closed sessions forgotten."""

import time

import numpy as np
import pytest

from genre_model import synth
from genre_model.live import (SILENCE_DBFS, SMOOTHING, LiveResult, LiveSession, LiveWorker, classify_chunk,
                              frame_to_mono, level_dbfs)

SR = 16000
SOURCE = 48000  # what WebRTC delivers


def _frames(audio: np.ndarray, size: int = 960):
    for i in range(0, len(audio), size):
        yield audio[i:i + size]


def _push(session: LiveSession, seconds: float, *, seed: int = 0) -> None:
    audio = synth.music_like(seconds, sr=SOURCE, seed=seed)
    for frame in _frames(audio):
        session.push(frame, SOURCE)


def test_frames_are_mixed_to_mono_float():
    left, right = np.full(480, 16384, np.int16), np.full(480, -8192, np.int16)
    packed = np.stack([left, right], axis=1).reshape(1, -1)          # s16 packed stereo
    planar = np.stack([left, right]).astype(np.float32) / 32768      # fltp planar stereo
    assert np.allclose(frame_to_mono(packed, 2), 0.125)
    assert np.allclose(frame_to_mono(planar, 2), 0.125)
    assert frame_to_mono(left[None], 1).shape == (480,)


def test_a_chunk_is_due_every_hop_and_stale_chunks_are_dropped():
    s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5, priority=True)  # the projector's listener
    _push(s, 2.0)
    assert s.due() is None  # not a whole chunk yet
    _push(s, 1.05)  # (the resampler holds back a few milliseconds)
    assert s.due() == 3 * SR
    assert s.due() is None
    _push(s, 4.5)  # the worker was busy for 4.5 s: three hops are due, only the newest is classified
    end = s.due()
    assert end == 7.5 * SR and s.dropped == 2
    assert s.due() is None
    chunk = s.last(s.chunk, end)
    assert len(chunk) == 3 * SR and np.isfinite(chunk).all()


def test_a_phone_gets_a_chunk_every_other_hop():
    phone = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
    _push(phone, 3.05)
    assert phone.due() == 3 * SR
    _push(phone, 1.5)
    assert phone.due() is None  # the projector's next hop; a phone waits one more
    _push(phone, 1.5)
    assert phone.due() == 6 * SR and phone.dropped == 0


def test_smoothing_follows_the_music_without_flicker():
    s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
    a, b = np.array([0.9, 0.1]), np.array([0.2, 0.8])
    s.add_result(LiveResult(3.0, a, None, -20.0))
    s.add_result(LiveResult(4.5, b, None, -20.0))
    assert np.allclose(s.latest.smoothed, SMOOTHING * b + (1 - SMOOTHING) * a)
    s.add_result(LiveResult(6.0, None, None, -90.0))  # a silent chunk leaves the smoothed verdict alone
    assert s.latest.smoothed is None and len(s.results) == 3


def test_live_judges_the_window_it_shows_as_classify_judges_a_clip(classifier):
    """The same probabilities and quality values get the same flags, headline and advice on Live (a
    live window) and on Classify (a clip): one judgement path."""
    from genre_model.predict import Prediction
    labels, rules = classifier.labels, classifier.rules
    cases = [(0.9, 0.3, 0.01, 0.01, 25.0),    # confident music
             (0.3, 0.3, 0.01, 0.01, 25.0),    # unsure
             (0.9, 0.3, 0.95, 0.01, -3.0),    # mostly talk
             (0.9, 0.3, 0.01, 0.01, -4.0),    # too noisy (when the model has a limit)
             (0.9, 9.0, 0.01, 0.01, 25.0)]    # unfamiliar
    headlines = []
    for top, novelty, no_music, not_music, snr in cases:
        p = np.full(len(labels), (1 - top) / (len(labels) - 1), dtype=np.float32)
        p[3] = top
        session = LiveSession.for_model(classifier)
        session.add_result(LiveResult(3.0, p, None, -20.0, novelty=novelty, no_music=no_music, not_music=not_music,
                                      snr_db=snr))
        pred = Prediction(labels=labels, starts=np.zeros(1), ends=np.full(1, 3.0), probabilities=p[None],
                          novelty=np.array([novelty], np.float32), duration=3.0, no_music=np.array([no_music]),
                          not_music=np.array([not_music]), snr_db=np.array([snr]), rules=rules)
        live, clip = session.latest.judgement, pred.judgement()
        assert live.flags == clip.flags and live.headline == clip.headline and live.advice == clip.advice
        headlines.append(live.headline)
    assert headlines[0] == f"{labels[3].upper()} 90%" and headlines[2] == "Can't judge: mostly talk or noise"


def test_the_live_verdict_and_its_flags_come_from_the_same_window():
    """A confident chunk after an unsure one: the big verdict is the smoothed window, and so is "unsure"."""
    from genre_model.judgement import Rules
    s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5, labels=["a", "b"], rules=Rules(unsure_below=0.6))
    s.add_result(LiveResult(3.0, np.array([0.1, 0.9]), None, -20.0))
    s.add_result(LiveResult(4.5, np.array([0.9, 0.1]), None, -20.0))  # alone: 90% "a"; window: 50/50
    j = s.latest.judgement
    assert np.allclose(s.latest.smoothed, [0.5, 0.5]) and j.confidence == pytest.approx(0.5)
    assert j.flags["unsure"] and j.headline == "A 50%"


def test_the_buffer_is_bounded_and_keeps_the_newest_audio():
    s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5, max_minutes=0.05)  # 3 s
    before = s._buffer.nbytes
    tone = np.concatenate([synth.tone(300.0, 4.0, sr=SOURCE), synth.tone(900.0, 2.0, sr=SOURCE)])
    for frame in _frames(tone):
        s.push(frame, SOURCE)
    take = s.take()
    assert s._buffer.nbytes == before and s.truncated
    assert len(take) == 3 * SR and s.seconds == pytest.approx(6.0, abs=0.05)
    spectrum = np.abs(np.fft.rfft(take[-SR:]))
    assert np.fft.rfftfreq(SR, 1 / SR)[np.argmax(spectrum)] == pytest.approx(900.0, abs=5)
    # the results ring is bounded too
    for i in range(500):
        s.add_result(LiveResult(i, None, None, -90.0))
    assert len(s.results) == s.results.maxlen


def test_classify_chunk_gives_calibrated_probabilities_and_skips_silence(classifier):
    s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
    _push(s, 3.2)
    r = classify_chunk(s, classifier, s.due())
    assert r.probabilities.shape == (len(classifier.labels),) and abs(r.probabilities.sum() - 1) < 1e-4
    s.add_result(r)
    assert set(r.judgement.flags) >= {"unsure", "unfamiliar", "too_noisy", "no_music"}
    quiet = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
    quiet.push(np.zeros(SOURCE * 4, np.float32), SOURCE)
    silent = classify_chunk(quiet, classifier, quiet.due())
    assert silent.probabilities is None and silent.level_dbfs < SILENCE_DBFS
    assert level_dbfs(np.zeros(10)) < -150


def test_the_worker_keeps_up_drops_when_behind_and_forgets_closed_sessions(classifier):
    worker = LiveWorker(poll_seconds=0.01)
    try:
        s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
        _push(s, 12.05)  # 12 s arrive while the worker is busy elsewhere: seven chunks are due at once
        worker.register(s, classifier)
        deadline = time.time() + 20
        while s.classified == 0 and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert s.classified == 1 and s.dropped == 6  # the newest chunk, not a queue of old ones
        assert s.latest.end == pytest.approx(12.0, abs=0.1)
        s.closed = True
        deadline = time.time() + 5
        while worker.n_sessions and time.time() < deadline:
            time.sleep(0.02)
        assert worker.n_sessions == 0
    finally:
        worker.stop()
