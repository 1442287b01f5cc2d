import pytest

from genre_model.metrics import classification_report, wilson_interval


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(72, 80)
    assert lo == pytest.approx(0.8149, abs=1e-3) and hi == pytest.approx(0.9485, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0


def test_report_on_a_worked_example():
    labels = ["a", "b", "c"]
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    r = classification_report(y_true, y_pred, labels)
    assert r["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert r["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert r["per_genre"]["a"] == {"precision": 1.0, "recall": pytest.approx(0.6667, abs=1e-4),
                                   "recall_ci95": [0.2077, 0.9385],  # Wilson, 2 of 3
                                   "f1": pytest.approx(0.8, abs=1e-4), "support": 3}
    assert r["per_genre"]["b"]["f1"] == pytest.approx(0.5)
    assert r["per_genre"]["c"]["f1"] == pytest.approx(0.6667, abs=1e-4)
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3, abs=1e-4)
