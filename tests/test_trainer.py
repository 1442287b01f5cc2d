"""The shared training loop: learns, stops early, and a killed run resumes to identical weights."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import torch
from torch import nn

from tests.conftest import ROOT
from train.trainer import STATE_FILE, TrainConfig, fit, load_state


def make_problem(init_seed: int = 0):
    """Three classes of 8x4 'spectrograms' that differ in mean (always the same data); a small
    model for them, initialised from ``init_seed``."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(300) % 3
    x = torch.randn(300, 8, 4, generator=g) + y[:, None, None].float() * 0.8
    torch.manual_seed(init_seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3))
    return model, (x[:240], y[:240]), (x[240:], y[240:])


CONFIG = TrainConfig(epochs=8, batch_size=16, lr=1e-2, patience=100, seed=3)

KILLED_RUN = """
import sys
from tests.test_trainer import CONFIG, make_problem
from train.trainer import fit
model, train, val = make_problem()
fit(model, train, val, CONFIG, sys.argv[1], on_epoch=lambda r: print(r["epoch"], flush=True))
"""


def test_learns_and_keeps_the_best_epoch(tmp_path):
    model, train, val = make_problem()
    result = fit(model, train, val, CONFIG, tmp_path)
    assert len(result.history) == CONFIG.epochs
    best = max(result.history, key=lambda r: r["val_accuracy"])
    assert result.best_epoch == best["epoch"] and best["val_accuracy"] > 0.85
    model.load_state_dict(result.best_state)


def test_early_stopping(tmp_path):
    model, train, val = make_problem()
    config = TrainConfig(epochs=50, batch_size=16, lr=1e-2, patience=2, seed=3)
    result = fit(model, train, val, config, tmp_path)
    assert result.stopped_early and len(result.history) < 50
    assert result.history[-1]["epoch"] - result.best_epoch == config.patience  # then `patience` epochs without gain


def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    reference, train, val = make_problem()
    fit(reference, train, val, CONFIG, tmp_path / "uninterrupted")

    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(tmp_path / "killed")], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if int(line) == 3:  # epoch 3's state is on disk: kill mid-training
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert load_state(tmp_path / "killed" / STATE_FILE)["epoch"] >= 3

    model, train, val = make_problem(init_seed=99)  # initialised differently: resume must restore everything
    result = fit(model, train, val, CONFIG, tmp_path / "killed", resume=True)
    assert [r["epoch"] for r in result.history] == list(range(CONFIG.epochs))
    for (name, a), b in zip(reference.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name


def test_resume_refuses_a_state_written_with_other_settings(tmp_path):
    model, train, val = make_problem()
    fit(model, train, val, TrainConfig(epochs=2, seed=1), tmp_path)
    with pytest.raises(ValueError, match="other settings"):
        fit(model, train, val, TrainConfig(epochs=3, seed=1), tmp_path, resume=True)
