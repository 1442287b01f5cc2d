"""Split audio into fixed-length windows with a hop, each with its start and end time.

Rule for the edges (documented for users in the README):
- Windows start at 0, hop, 2*hop, ... while they fit inside the audio.
- If the last of those ends before the audio does, one more window is placed flush with the end,
  so the tail is always classified and every window holds real audio only.
- Audio shorter than one window gives a single window: its samples are repeated to fill the
  window (the way musicnn was trained on short clips), and its reported end time is the real
  end of the audio, never the padded length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChunkSpans:
    """Windows over ``n_samples``: ``starts``/``ends`` are ``np.ndarray [shape=(n_chunks,)]`` sample indices."""

    starts: np.ndarray
    ends: np.ndarray
    window: int
    sample_rate: int

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def start_times(self) -> np.ndarray:
        return self.starts / self.sample_rate

    @property
    def end_times(self) -> np.ndarray:
        return self.ends / self.sample_rate


def chunk_spans(n_samples: int, *, sample_rate: int, chunk_seconds: float, hop_seconds: float) -> ChunkSpans:
    """Window positions for audio of ``n_samples`` samples (see the module docstring for the rule)."""
    if chunk_seconds <= 0 or hop_seconds <= 0:
        raise ValueError("chunk and hop lengths must be positive")
    if hop_seconds > chunk_seconds:
        raise ValueError("the hop must not be longer than the chunk (audio between chunks would be skipped)")
    if n_samples <= 0:
        raise ValueError("no samples to chunk")
    window = int(round(chunk_seconds * sample_rate))
    hop = int(round(hop_seconds * sample_rate))
    if n_samples <= window:
        starts = np.zeros(1, dtype=np.int64)
        ends = np.array([n_samples], dtype=np.int64)
    else:
        starts = np.arange(0, n_samples - window + 1, hop, dtype=np.int64)
        if starts[-1] + window < n_samples:
            starts = np.append(starts, n_samples - window)
        ends = starts + window
    return ChunkSpans(starts=starts, ends=ends, window=window, sample_rate=sample_rate)


def cut_chunks(samples: np.ndarray, spans: ChunkSpans, indices: slice | None = None) -> np.ndarray:
    """The windows' samples as ``np.ndarray [shape=(n_chunks, window), dtype=float32]``.

    ``indices`` selects a batch of windows, so long audio can be processed a batch at a time.
    """
    starts = spans.starts[indices] if indices is not None else spans.starts
    ends = spans.ends[indices] if indices is not None else spans.ends
    out = np.empty((len(starts), spans.window), dtype=np.float32)
    for row, (start, end) in enumerate(zip(starts, ends)):
        piece = samples[start:end]
        if len(piece) == spans.window:
            out[row] = piece
        else:  # shorter than one window: repeat-pad
            out[row] = np.resize(piece, spans.window)
    return out
