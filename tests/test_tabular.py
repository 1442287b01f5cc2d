"""Kaggle-style tabular features: sanity on generated audio; fidelity to features_30_sec.csv on the real excerpts."""

import numpy as np
import pytest

from genre_model import synth
from genre_model.tabular import COLUMNS, SAMPLE_RATE, tabular_features
from tests.conftest import EXCERPTS, SHARED_DATA, needs_shared_data


def test_columns_match_the_table_layout():
    assert len(COLUMNS) == 57
    assert COLUMNS[:2] == ["chroma_stft_mean", "chroma_stft_var"] and COLUMNS[16] == "tempo"
    assert COLUMNS[-1] == "mfcc20_var"


def test_features_describe_a_tone_and_a_beat():
    tone = tabular_features(synth.tone(1000.0, 5.0, sr=SAMPLE_RATE))
    f = dict(zip(COLUMNS, tone))
    assert np.isfinite(tone).all() and tone.shape == (57,)
    assert f["spectral_centroid_mean"] == pytest.approx(1000.0, rel=0.1)
    assert f["zero_crossing_rate_mean"] == pytest.approx(2 * 1000.0 / SAMPLE_RATE, rel=0.05)
    drums = dict(zip(COLUMNS, tabular_features(synth.drum_pattern(10.0, sr=SAMPLE_RATE, bpm=120.0))))
    assert drums["tempo"] == pytest.approx(120.0, rel=0.05)


def test_refuses_another_sample_rate():
    with pytest.raises(ValueError, match="22050"):
        tabular_features(np.zeros(16000, np.float32), sr=16000)


@needs_shared_data
@pytest.mark.slow
def test_nearest_table_row_is_the_clips_own():
    from train.kaggle_check import nearest_row_check
    report = nearest_row_check(EXCERPTS, SHARED_DATA / "features_30_sec.csv", progress=False)
    assert report["clips"] == 80
    assert report["fraction"] >= 0.8  # measured: 79 of 80
