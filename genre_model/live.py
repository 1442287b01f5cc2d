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
from .memory import release_memory
from .tags import top_tags

MAX_TAKE_MINUTES = 10.0
TIMELINE_SECONDS = 60.0
SMOOTHING = 0.5           # weight of the newest chunk in the smoothed probabilities and quality values
SILENCE_DBFS = -60.0      # quieter than this: "too quiet", nothing is classified
QUIET_DBFS = -40.0        # quieter than this: classified, with a "turn it up" hint
NO_AUDIO_SECONDS = 5.0    # started, but no frame for this long: the stream does not reach the server
IDLE_SECONDS = 8.0        # no frame for this long (a closed tab, lost Wi-Fi, a locked phone): forgotten
NEVER_HEARD_SECONDS = 60.0  # started, and no frame ever arrived: forgotten (connecting can be slow)
PHONE_TAKE_MINUTES = 2.0  # a phone listener keeps this much of its take (3.8 MB); the projector 10 minutes
PASS_SHARE = 0.7          # a pass of the worker classifies at most this share of a hop's worth of chunks
PHONE_EVERY_HOPS = 2      # a phone gets a new verdict every 2 hops (3 s): half the model's work per phone
TRIM_AFTER_SECONDS = 45.0  # after the last listener left (and Streamlit released its session, 30 s):
                           # hand freed memory back to the system


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
                 labels: list[str] | None = None, rules: Rules | None = None, max_minutes: float = MAX_TAKE_MINUTES,
                 priority: bool = False):
        self.sample_rate = sample_rate
        self.priority = priority   # the projector's listener: served every hop, however busy the worker
        self.served_at = 0.0       # when the worker last took a chunk of this listener (phones: longest wait first)
        self.waiting = False       # a chunk was due but the worker was too busy for this phone
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
        self.last_frame_at = now
        if len(y) == 0:  # the resampler's first output lags its input
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
        self.next_end = end + self.hop * (1 if self.priority else PHONE_EVERY_HOPS)
        return int(end)

    def written_since(self, sample: int) -> bool:
        with self._lock:
            return self._written >= sample

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
        self.chunk_seconds = 0.05  # measured cost of classifying one chunk (smoothed)
        self._trim_at: float | None = -1.0  # no listener yet: nothing to give back
        self._thread.start()

    def register(self, session: LiveSession, classifier) -> None:
        with self._lock:
            self._sessions[id(session)] = (session, classifier)

    def unregister(self, session: LiveSession) -> None:
        with self._lock:
            self._sessions.pop(id(session), None)

    @property
    def n_sessions(self) -> int:
        return self.n_listeners()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            due = self._due_chunks(time.time())
            for clf, batch in due.items():
                started = time.perf_counter()
                for session, result in zip([b[0] for b in batch], classify_chunks(batch, clf)):
                    session.add_result(result)
                spent = time.perf_counter() - started
                self.busy_seconds += spent
                self.chunk_seconds = 0.7 * self.chunk_seconds + 0.3 * spent / len(batch)
            if not due:
                self._stop.wait(self._poll)
                self._trim_when_empty()

    def _trim_when_empty(self) -> None:
        """When nobody has listened for a while, return the memory the listeners' streams, buffers
        and sessions freed to the system (glibc keeps freed memory for reuse otherwise)."""
        now = time.time()
        if self.n_sessions:
            self._trim_at = None
        elif self._trim_at is None:
            self._trim_at = now + TRIM_AFTER_SECONDS
        elif now > self._trim_at > 0:
            self._trim_at = -1.0  # once per empty room
            release_memory()

    def _due_chunks(self, now: float) -> dict:
        """{classifier: [(session, end), ...]} for this pass: the projector's listener whenever its
        chunk is due, then the phones that waited longest, as many as fit in most of a hop at the
        measured cost of a chunk (the others wait for a later pass, and get its newest chunk).
        Closed and silent-for-long sessions are forgotten here."""
        with self._lock:
            sessions = list(self._sessions.values())
        due: dict = {}
        live_sessions = []
        for session, clf in sessions:
            idle = (now - session.last_frame_at > IDLE_SECONDS if session.last_frame_at is not None
                    else now - session.started_at > NEVER_HEARD_SECONDS)
            if session.closed or idle:
                self.unregister(session)  # a stopped stream or a closed tab: stop processing it
                session.closed = True
                print(f"live: listener ended ({'stopped' if not idle else f'no audio for {IDLE_SECONDS:g} s'}; "
                      f"{self.n_sessions} still listening)", file=sys.stderr, flush=True)
            else:
                live_sessions.append((session, clf))
        if not live_sessions:
            return due
        hop = min(s.hop / s.sample_rate for s, _ in live_sessions)
        room = max(1, int(PASS_SHARE * hop / max(self.chunk_seconds, 1e-3)))
        for session, clf in sorted(live_sessions, key=lambda sc: (not sc[0].priority, sc[0].served_at)):
            if not session.priority and room <= 0:
                session.waiting = session.written_since(session.next_end)
                continue
            end = session.due()
            if end is not None:
                due.setdefault(clf, []).append((session, end))
                session.served_at, session.waiting = now, False
                room -= 1
        return due

    def n_listeners(self, *, priority: bool | None = None) -> int:
        """Registered listeners (only the projector's, or only phones, with ``priority``)."""
        with self._lock:
            return sum(priority is None or s.priority == priority for s, _ in self._sessions.values())


def classify_chunks(batch: list[tuple[LiveSession, int]], clf) -> list[LiveResult]:
    """Classify the chunk of each ``(session, end)`` (``end``: a stream sample) with classifier ``clf``,
    in one model pass for every listener: the same probabilities as one pass each, for less work."""
    results, rows, chunks = [], [], []
    for session, end in batch:
        chunk = session.last(session.chunk, end)
        level = level_dbfs(chunk)
        results.append(LiveResult(end=end / session.sample_rate, probabilities=None, smoothed=None,
                                  level_dbfs=level, computed_at=time.time()))
        if level >= SILENCE_DBFS and len(chunk) == session.chunk:
            rows.append(len(results) - 1)
            chunks.append(chunk)
    if chunks:
        out = clf.predict_chunks(model_input(clf.info.features, np.stack(chunks), clf.device))
        for j, i in enumerate(rows):
            results[i] = replace(results[i], probabilities=out["probabilities"][j], novelty=float(out["novelty"][j]),
                                 no_music=float(out["no_music"][j]), not_music=float(out["not_music"][j]),
                                 snr_db=float(out["snr_db"][j]), tags=out["tags"][j] if "tags" in out else None)
    return results


def classify_chunk(session: LiveSession, clf, end: int) -> LiveResult:
    """Classify one listener's chunk ending at stream sample ``end`` (see :func:`classify_chunks`)."""
    return classify_chunks([(session, end)], clf)[0]
