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
    s = LiveSession(SR, chunk_seconds=3.0, hop_seconds=1.5)
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


def test_smoothing_follows_the_music_without_flicker():
    s = LiveSession(SR)
    a, b = np.array([0.9, 0.1]), np.array([0.2, 0.8])
    s.add_result(LiveResult(3.0, a, None, -20.0))
    s.add_result(LiveResult(4.5, b, None, -20.0))
    assert np.allclose(s.latest.smoothed, SMOOTHING * b + (1 - SMOOTHING) * a)
    s.add_result(LiveResult(6.0, None, None, -90.0))  # a silent chunk leaves the smoothed verdict alone
    assert s.latest.smoothed is None and len(s.results) == 3


def test_the_buffer_is_bounded_and_keeps_the_newest_audio():
    s = LiveSession(SR, max_minutes=0.05)  # 3 s
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
    s = LiveSession(SR)
    _push(s, 3.2)
    r = classify_chunk(s, classifier, s.due())
    assert r.probabilities.shape == (len(classifier.labels),) and abs(r.probabilities.sum() - 1) < 1e-4
    assert set(r.flags) >= {"unsure", "unfamiliar", "too_noisy", "no_music"}
    quiet = LiveSession(SR)
    quiet.push(np.zeros(SOURCE * 4, np.float32), SOURCE)
    silent = classify_chunk(quiet, classifier, quiet.due())
    assert silent.probabilities is None and silent.level_dbfs < SILENCE_DBFS
    assert level_dbfs(np.zeros(10)) < -150


def test_the_worker_keeps_up_drops_when_behind_and_forgets_closed_sessions(classifier):
    worker = LiveWorker(poll_seconds=0.01)
    try:
        s = LiveSession(SR)
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
