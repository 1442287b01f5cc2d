import threading

import numpy as np
import pytest

from genre_model import synth
from tests.conftest import GENRES
from genre_model.predict import Classifier, Prediction


def _pred(probs, starts=None) -> Prediction:
    probs = np.asarray(probs, dtype=np.float32)
    n = len(probs)
    starts = np.arange(n) * 1.5 if starts is None else np.asarray(starts)
    return Prediction(labels=["a", "b", "c"], starts=starts, ends=starts + 3.0, probabilities=probs,
                      novelty=np.full(n, 0.5, np.float32), duration=float(starts[-1] + 3.0))


def test_mean_and_vote_can_disagree():
    # two chunks narrowly prefer "a"; one strongly prefers "b"
    p = _pred([[0.5, 0.4, 0.1], [0.5, 0.4, 0.1], [0.0, 1.0, 0.0]])
    assert p.genre("vote") == "a"
    assert p.genre("mean") == "b"
    assert p.scores("vote").tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert p.top_k(2, "mean") == [("b", pytest.approx(0.6)), ("a", pytest.approx(1 / 3))]


def test_tied_vote_goes_to_higher_mean_probability():
    p = _pred([[0.6, 0.4, 0.0], [0.1, 0.9, 0.0]])
    assert p.genre("vote") == "b"


def test_unknown_aggregate_is_refused():
    with pytest.raises(ValueError, match="aggregate"):
        _pred([[1, 0, 0]]).scores("median")


def test_dict_round_trip():
    p = _pred([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    d = p.to_dict("vote")
    assert d["aggregate"] == "vote" and len(d["chunks"]) == 2
    q = Prediction.from_dict(p.to_dict())
    np.testing.assert_allclose(q.probabilities, p.probabilities, atol=1e-6)
    np.testing.assert_allclose(q.starts, p.starts)
    assert q.genre() == p.genre()


def test_classifier_on_generated_music(classifier, music_wav):
    pred = classifier.predict(music_wav)
    assert pred.labels == list(GENRES)
    assert pred.probabilities.shape == (len(pred.starts), 10)
    np.testing.assert_allclose(pred.probabilities.sum(axis=1), 1.0, atol=1e-5)
    # 10 s, 3 s windows, 1.5 s hop: starts 0..6 then one flush with the end at 7
    np.testing.assert_allclose(pred.starts, [0, 1.5, 3.0, 4.5, 6.0, 7.0])
    np.testing.assert_allclose(pred.ends, pred.starts + 3.0)
    assert pred.genre("mean") in GENRES and pred.duration == pytest.approx(10.0, abs=0.01)


def test_chunk_and_hop_override(classifier, music_wav):
    pred = classifier.predict(music_wav, chunk_seconds=5.0, hop_seconds=5.0)
    np.testing.assert_allclose(pred.starts, [0.0, 5.0])


def test_batching_does_not_change_results(music_wav):
    one = Classifier("default", device="cpu", batch_size=1).predict(music_wav)
    many = Classifier("default", device="cpu", batch_size=16).predict(music_wav)
    np.testing.assert_allclose(one.probabilities, many.probabilities, atol=1e-5)


def test_concurrent_calls_each_get_their_own_result(classifier):
    clips = [synth.wav_bytes(synth.music_like(4.0, sr=22050, seed=s, bpm=90 + 20 * s), 22050) for s in range(4)]
    expected = [classifier.predict(c).probabilities for c in clips]
    results: dict[int, np.ndarray] = {}
    errors = []

    def work(i):
        try:
            for _ in range(3):
                results[i] = classifier.predict(clips[i % 4]).probabilities
                np.testing.assert_allclose(results[i], expected[i % 4], atol=1e-5)
        except Exception as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8


def test_a_pure_tone_is_flagged_as_unfamiliar(classifier):
    pred = classifier.predict(synth.wav_bytes(synth.tone(440.0, 6.0, sr=22050), 22050))
    assert pred.flags()["unfamiliar"]


def test_device_from_environment(monkeypatch):
    from genre_model.predict import default_device
    monkeypatch.setenv("GENRE_MODEL_DEVICE", "cpu")
    assert str(default_device()) == "cpu"


def test_serving_path_never_imports_librosa_or_numba():
    """librosa JIT-compiles with numba on first use (~20 s cold): the app and CLI must not pay that."""
    import subprocess
    import sys

    from tests.conftest import ROOT
    code = (
        "import sys\n"
        "from genre_model import synth\n"
        "from genre_model.predict import Classifier\n"
        "import webapp.classify, webapp.explore, webapp.compare, webapp.how_it_works, webapp.results\n"
        "clf = Classifier('default', device='cpu')\n"
        "clf.predict(synth.wav_bytes(synth.music_like(4.0, sr=22050), 22050))\n"
        "print(sorted(m for m in ('librosa', 'numba') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
