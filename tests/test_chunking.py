import numpy as np
import pytest

from genre_model.chunking import chunk_spans, cut_chunks

SR = 100  # small rate keeps the arithmetic readable


@pytest.mark.parametrize("seconds,chunk,hop,starts,ends", [
    (10.0, 3.0, 1.5, [0, 1.5, 3.0, 4.5, 6.0, 7.0], [3.0, 4.5, 6.0, 7.5, 9.0, 10.0]),  # tail window flush with end
    (9.0, 3.0, 1.5, [0, 1.5, 3.0, 4.5, 6.0], [3.0, 4.5, 6.0, 7.5, 9.0]),              # exact fit: no extra window
    (9.0, 3.0, 3.0, [0, 3.0, 6.0], [3.0, 6.0, 9.0]),
    (3.0, 3.0, 1.5, [0], [3.0]),
    (2.0, 3.0, 1.5, [0], [2.0]),  # shorter than a chunk: one window, real end time
    (5.0, 4.0, 1.0, [0, 1.0], [4.0, 5.0]),
])
def test_window_times(seconds, chunk, hop, starts, ends):
    spans = chunk_spans(int(seconds * SR), sample_rate=SR, chunk_seconds=chunk, hop_seconds=hop)
    np.testing.assert_allclose(spans.start_times, starts)
    np.testing.assert_allclose(spans.end_times, ends)
    assert len(spans) == len(starts)


@pytest.mark.parametrize("n", [150, 301, 1000, 1234])
def test_windows_cover_all_audio_and_stay_inside_it(n):
    spans = chunk_spans(n, sample_rate=SR, chunk_seconds=3.0, hop_seconds=1.5)
    covered = np.zeros(n, bool)
    for s, e in zip(spans.starts, spans.ends):
        assert 0 <= s < e <= n
        covered[s:e] = True
    assert covered.all()


def test_cut_chunks_returns_the_right_samples():
    x = np.arange(1000, dtype=np.float32)
    spans = chunk_spans(1000, sample_rate=SR, chunk_seconds=3.0, hop_seconds=1.5)
    chunks = cut_chunks(x, spans)
    assert chunks.shape == (len(spans), 300)
    for row, s in zip(chunks, spans.starts):
        np.testing.assert_array_equal(row, x[s:s + 300])
    np.testing.assert_array_equal(cut_chunks(x, spans, slice(1, 3)), chunks[1:3])


def test_short_audio_is_repeat_padded():
    x = np.arange(120, dtype=np.float32)
    spans = chunk_spans(120, sample_rate=SR, chunk_seconds=3.0, hop_seconds=1.5)
    row = cut_chunks(x, spans)[0]
    np.testing.assert_array_equal(row[:120], x)
    np.testing.assert_array_equal(row[120:240], x)
    assert spans.end_times[0] == pytest.approx(1.2)


@pytest.mark.parametrize("chunk,hop", [(0, 1), (3, 0), (1.0, 2.0), (-1, 1)])
def test_bad_parameters_are_refused(chunk, hop):
    with pytest.raises(ValueError):
        chunk_spans(1000, sample_rate=SR, chunk_seconds=chunk, hop_seconds=hop)
