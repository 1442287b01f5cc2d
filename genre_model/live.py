"""Live listening: audio frames arrive from a stream (the browser microphone over WebRTC), the newest
chunk is classified every hop, and the verdict follows the music. No Streamlit here.

- :class:`LiveSession` (one per listener): the audio callback only appends frames to a bounded
  buffer (resampled to the model's rate, 16-bit, at most :data:`MAX_TAKE_MINUTES` minutes kept)
  and measures the level. Nothing heavy runs on the callback thread.
- :class:`LiveWorker` (one per server): a thread that, for every session with a new hop of audio,
  classifies the last chunk with the cached model. When the CPU falls behind, the chunks that were
  missed are dropped (counted), never queued: the verdict is always about the newest audio.
- Each result holds the calibrated chunk probabilities, the quality signals and the level; the
  session keeps the last :data:`TIMELINE_SECONDS` of results and an exponential average of the
  probabilities and quality values (:data:`SMOOTHING`), the live window, so the big verdict does
  not flicker. The window is judged by :func:`genre_model.judgement.assess`, as a clip is on the
  Classify page: the "cannot judge" signals are about exactly what the big verdict shows.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np
import soxr

from .features import model_input
from .judgement import Evidence, Judgement, Rules, assess
from .tags import top_tags

MAX_TAKE_MINUTES = 10.0
TIMELINE_SECONDS = 60.0
SMOOTHING = 0.5           # weight of the newest chunk in the smoothed probabilities and quality values
SILENCE_DBFS = -60.0      # quieter than this: "too quiet", nothing is classified
QUIET_DBFS = -40.0        # quieter than this: classified, with a "turn it up" hint
NO_AUDIO_SECONDS = 5.0    # started, but no frame for this long: the stream does not reach the server
IDLE_SECONDS = 30.0       # a session with no frame for this long is forgotten by the worker


@dataclass
class LiveResult:
    """One classified chunk: ``end`` is its end in seconds of stream time."""

    end: float
    probabilities: np.ndarray | None       # calibrated, [n_genres]; None when too quiet to classify
    smoothed: np.ndarray | None            # the live window's probabilities (what the big verdict shows)
    level_dbfs: float
    novelty: float = float("nan")
    no_music: float = float("nan")
    not_music: float = float("nan")
    snr_db: float = float("nan")
    tags: np.ndarray | None = None          # the backbone's tag probabilities for the chunk, [50]
    judgement: Judgement | None = None     # of the live window, set by LiveSession.add_result
    hears: list[dict] | None = None        # the live window's top tags, set by LiveSession.add_result
    computed_at: float = 0.0                # wall clock


def level_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-9))


def frame_to_mono(samples: np.ndarray, channels: int) -> np.ndarray:
    """A decoded audio frame (``av.AudioFrame.to_ndarray()``: planar ``[channels, n]`` or packed
    ``[1, n * channels]``, int16 or float) as mono float32 in [-1, 1]."""
    x = np.asarray(samples)
    scale = 32768.0 if x.dtype == np.int16 else 2147483648.0 if x.dtype == np.int32 else 1.0
    x = x.astype(np.float32) / scale
    if x.ndim == 2 and x.shape[0] == channels and channels > 1:
        return x.mean(axis=0)
    return x.reshape(-1, channels).mean(axis=1) if channels > 1 else x.reshape(-1)


class LiveSession:
    """The audio and results of one listener. ``push`` is called from the audio callback thread;
    everything else from the worker or the page."""

    def __init__(self, sample_rate: int, *, chunk_seconds: float, hop_seconds: float,
                 labels: list[str] | None = None, rules: Rules | None = None, max_minutes: float = MAX_TAKE_MINUTES):
        self.sample_rate = sample_rate
        # rounded as genre_model.chunking.chunk_spans rounds, so a live chunk is a Classify chunk
        self.chunk = int(round(chunk_seconds * sample_rate))
        self.hop = int(round(hop_seconds * sample_rate))
        self.labels = labels
        self.rules = rules or Rules()
        self.capacity = int(max_minutes * 60 * sample_rate)
        self._buffer = np.zeros(self.capacity, dtype=np.int16)  # a ring: bounded whatever the take's length
        self._written = 0          # samples received in all (stream time * sample_rate)
        self._lock = threading.Lock()
        self._resampler: soxr.ResampleStream | None = None
        self._source_rate = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.started_at = time.time()
        self.next_end = self.chunk  # stream sample at which the next chunk ends
        self.results: deque[LiveResult] = deque(maxlen=max(2, int(TIMELINE_SECONDS / hop_seconds) + 1))
        self.dropped = 0           # chunks skipped because the worker was behind
        self.classified = 0
        self.level = -120.0
        self._window: Evidence | None = None
        self._window_tags: np.ndarray | None = None
        self.closed = False

    @classmethod
    def for_model(cls, clf, **kwargs) -> "LiveSession":
        """A session chunked and judged as ``clf`` (a :class:`genre_model.predict.Classifier`) wants."""
        return cls(clf.sample_rate, chunk_seconds=clf.info.chunk_seconds, hop_seconds=clf.info.hop_seconds,
                   labels=clf.labels, rules=clf.rules, **kwargs)

    # ---- the audio callback side

    def push(self, mono: np.ndarray, source_rate: int) -> None:
        """Append mono float32 audio at ``source_rate`` (resampled here, in a streaming way)."""
        now = time.time()
        if self._resampler is None or source_rate != self._source_rate:
            self._resampler = soxr.ResampleStream(source_rate, self.sample_rate, 1, dtype="float32")
            self._source_rate = source_rate
        y = self._resampler.resample_chunk(np.ascontiguousarray(mono, dtype=np.float32))
        if len(y) == 0:
            return
        pcm = (np.clip(y, -1.0, 1.0) * 32767).astype(np.int16)
        with self._lock:
            start = self._written % self.capacity
            first = min(len(pcm), self.capacity - start)
            self._buffer[start:start + first] = pcm[:first]
            self._buffer[:len(pcm) - first] = pcm[first:]
            self._written += len(pcm)
            self.first_frame_at = self.first_frame_at or now
            self.last_frame_at = now
        self.level = level_dbfs(y[-min(len(y), self.sample_rate // 3):])

    # ---- reading

    @property
    def seconds(self) -> float:
        return self._written / self.sample_rate

    def last(self, n: int, end: int | None = None) -> np.ndarray:
        """The ``n`` samples ending at stream sample ``end`` (default: the newest), float32."""
        with self._lock:
            end = self._written if end is None else end
            end = min(end, self._written)
            n = min(n, end, self.capacity - (self._written - end))
            if n <= 0:
                return np.zeros(0, dtype=np.float32)
            idx = np.arange(end - n, end) % self.capacity
            return self._buffer[idx].astype(np.float32) / 32767.0

    def take(self) -> np.ndarray:
        """The whole take as kept (at most the last ``max_minutes``), float32."""
        return self.last(self.capacity)

    @property
    def truncated(self) -> bool:
        return self._written > self.capacity

    def waiting_for_audio(self, now: float | None = None) -> bool:
        """Started more than :data:`NO_AUDIO_SECONDS` ago and still no frame."""
        return self.first_frame_at is None and (now or time.time()) - self.started_at > NO_AUDIO_SECONDS

    # ---- the worker side

    def due(self) -> int | None:
        """The end (stream sample) of the chunk to classify now, or None. When more than one hop of
        chunks is due (the worker fell behind), only the newest is returned; the others are counted
        as dropped."""
        with self._lock:
            written = self._written
        if written < self.next_end:
            return None
        behind = (written - self.next_end) // self.hop
        self.dropped += int(behind)
        end = self.next_end + behind * self.hop
        self.next_end = end + self.hop
        return int(end)

    def add_result(self, result: LiveResult) -> None:
        """Append a classified chunk; a chunk with probabilities moves the live window, which is judged."""
        if result.probabilities is not None:
            new = Evidence(result.probabilities, novelty=result.novelty, no_music=result.no_music,
                           not_music=result.not_music, snr_db=result.snr_db)
            old = self._window
            self._window = new if old is None else Evidence(**{
                k: SMOOTHING * getattr(new, k) + (1 - SMOOTHING) * getattr(old, k)
                for k in ("scores", "novelty", "no_music", "not_music", "snr_db")})
            self._window = replace(self._window, seconds=result.end)  # the audio heard so far
            result.smoothed = np.array(self._window.scores, copy=True)
            labels = self.labels or [str(i) for i in range(len(result.probabilities))]
            result.judgement = assess(labels, self._window, self.rules)
            if result.tags is not None:
                old_tags = self._window_tags
                self._window_tags = result.tags if old_tags is None else SMOOTHING * result.tags + (1 - SMOOTHING) * old_tags
                result.hears = top_tags(self._window_tags)
        self.results.append(result)
        self.classified += 1

    @property
    def latest(self) -> LiveResult | None:
        return self.results[-1] if self.results else None


class LiveWorker:
    """One thread per server classifying the due chunk of every registered session."""

    def __init__(self, *, poll_seconds: float = 0.05):
        self._sessions: dict[int, tuple[LiveSession, object]] = {}
        self._lock = threading.Lock()
        self._poll = poll_seconds
        self._thread = threading.Thread(target=self._loop, name="live-worker", daemon=True)
        self._stop = threading.Event()
        self.busy_seconds = 0.0
        self._thread.start()

    def register(self, session: LiveSession, classifier) -> None:
        with self._lock:
            self._sessions[id(session)] = (session, classifier)

    def unregister(self, session: LiveSession) -> None:
        with self._lock:
            self._sessions.pop(id(session), None)

    @property
    def n_sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                sessions = list(self._sessions.values())
            worked = False
            now = time.time()
            for session, clf in sessions:
                idle = session.last_frame_at is not None and now - session.last_frame_at > IDLE_SECONDS
                if session.closed or idle:
                    self.unregister(session)  # a stopped stream or a closed tab: stop processing it
                    print(f"live: listener ended ({'stopped' if session.closed else 'no audio for 30 s'}; "
                          f"{self.n_sessions} still listening)", file=sys.stderr, flush=True)
                    continue
                end = session.due()
                if end is None:
                    continue
                started = time.perf_counter()
                session.add_result(classify_chunk(session, clf, end))
                self.busy_seconds += time.perf_counter() - started
                worked = True
            if not worked:
                self._stop.wait(self._poll)


def classify_chunk(session: LiveSession, clf, end: int) -> LiveResult:
    """Classify the chunk of ``session`` ending at stream sample ``end`` with classifier ``clf``."""
    chunk = session.last(session.chunk, end)
    level = level_dbfs(chunk)
    result = LiveResult(end=end / session.sample_rate, probabilities=None, smoothed=None, level_dbfs=level,
                        computed_at=time.time())
    if level < SILENCE_DBFS or len(chunk) < session.chunk:
        return result
    out = clf.predict_chunks(model_input(clf.info.features, chunk[None], clf.device))
    return replace(result, probabilities=out["probabilities"][0], novelty=float(out["novelty"][0]),
                   no_music=float(out["no_music"][0]), not_music=float(out["not_music"][0]),
                   snr_db=float(out["snr_db"][0]), tags=out["tags"][0] if "tags" in out else None)
