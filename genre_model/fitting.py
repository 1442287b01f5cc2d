"""Fitting a :class:`~genre_model.models.head.GenreHead` on chunk embeddings: the genre layer
(weighted multinomial logistic regression), the novelty bank, the temperature that calibrates the
probabilities, and the recording-quality layer. Used by ``python -m train`` and by the app's
Teach page alike, so a class model is made exactly as the shipped one."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar

from .models.head import GenreHead

SNR_CLEAN_DB = 30.0  # the SNR target for clean audio: "as good as it gets" for the quality layer


def clip_weights(labels: list[str], clips: list[str]) -> np.ndarray:
    """One weight per row so that every clip counts the same whatever its number of rows (chunks,
    copies), and every label counts the same whatever its number of clips. Rows are described by
    their ``labels`` and ``clips`` (any hashable clip key); the weights sum to the number of rows."""
    labels, clips = np.asarray(labels), np.asarray(clips)
    rows_per_clip = {c: n for c, n in zip(*np.unique(clips, return_counts=True))}
    clips_per_label = {l: len(set(clips[labels == l])) for l in set(labels.tolist())}
    w = np.array([1.0 / (rows_per_clip[c] * clips_per_label[l] * len(clips_per_label))
                  for l, c in zip(labels, clips)])
    return w * len(w) / w.sum()


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, *, weights: np.ndarray | None = None,
             groups: np.ndarray | None = None, l2: float = 1e-2, seed: int = 0, max_iter: int = 200,
             bank_size: int = 2048) -> GenreHead:
    """Train a :class:`GenreHead` on embeddings ``x [N, D]`` with integer labels ``y [N]`` and
    optional row ``weights [N]`` (see :func:`clip_weights`) and the clip of each row ``groups [N]``
    (for the novelty scale, see :func:`fill_novelty_bank`).

    Full-batch L-BFGS on the weighted mean cross-entropy plus ``l2 * ||W||^2``: convex, so the
    result depends on the data only. ``seed`` draws the novelty bank: ``bank_size`` training rows
    (or all when there are fewer), drawn in proportion to their weights.
    """
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    w = torch.ones(len(xt)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    w = w / w.sum()
    p = w.double().numpy()
    bank_rows = np.random.default_rng(seed).choice(len(xt), size=min(bank_size, len(xt)), replace=False, p=p / p.sum())
    head = GenreHead(xt.shape[1], n_classes, bank_size=len(bank_rows))
    mean = (w[:, None] * xt).sum(dim=0)
    head.mean.copy_(mean)
    head.std.copy_(((w[:, None] * (xt - mean) ** 2).sum(dim=0)).sqrt().clamp_min(1e-6))
    with torch.no_grad():
        head.linear.weight.zero_()
        head.linear.bias.zero_()
    z = head.standardize(xt).detach()
    optimizer = torch.optim.LBFGS(head.linear.parameters(), lr=1.0, max_iter=max_iter,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-6)

    def closure():
        optimizer.zero_grad()
        loss = (F.cross_entropy(head.linear(z), yt, reduction="none") * w).sum() + l2 * head.linear.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    bank_rows = np.sort(bank_rows)
    fill_novelty_bank(head, z[torch.as_tensor(bank_rows)], None if groups is None else np.asarray(groups)[bank_rows])
    return head.eval()


@torch.no_grad()
def fill_novelty_bank(head: GenreHead, z: torch.Tensor, groups: np.ndarray | None = None) -> None:
    """Keep standardised training embeddings ``z [bank_size, D]`` as the novelty bank and scale
    distances so the 99th percentile among them is 1.0. With ``groups [bank_size]`` (the clip
    each row comes from), a row's neighbours are looked for among *other* clips only: the chunks
    and copies of one clip are near each other, and would make every new clip look far."""
    head.bank.copy_(z)
    if groups is None:
        own = head.neighbour_distance(head.bank, exclude_self=True)
    else:
        d = torch.cdist(z, z)
        same = torch.as_tensor(np.asarray(groups)[:, None] == np.asarray(groups)[None, :])
        d[same] = float("inf")
        k = min(head.K_NEIGHBOURS, max(1, int((~same).sum(dim=1).min())))
        own = d.topk(k, dim=1, largest=False).values.mean(dim=1)
        own = own[torch.isfinite(own)]
    head.novelty_scale.fill_(float(torch.quantile(own, 0.99)) if len(own) else 1.0)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature ``T`` that minimises the negative log-likelihood of ``softmax(logits / T)``
    for held-out ``logits [N, n]`` with true classes ``y [N]`` (Guo et al. 2017)."""
    y = np.asarray(y)

    def nll(log_t: float) -> float:
        p = softmax(logits, float(np.exp(log_t)))
        return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))

    return float(np.exp(minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded").x))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """How far confidence is from accuracy: the top probability's range split into ``n_bins``
    equal bins; the mean |accuracy - confidence| over bins, weighted by how many predictions
    fall in each."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(y)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    return float(sum(abs(correct[bins == b].mean() - confidence[bins == b].mean()) * np.mean(bins == b)
                     for b in range(n_bins) if np.any(bins == b)))


MUSIC, ROOM, NOT_MUSIC = 0, 1, 2  # the classes of the quality layer (models/head.py QUALITY_CLASSES)


@torch.no_grad()
def fit_quality(head: GenreHead, x: np.ndarray, kind: np.ndarray, snr_db: np.ndarray, *,
                weights: np.ndarray | None = None, l2: float = 1e-2, ridge: float = 10.0) -> None:
    """Train the head's quality layer on embeddings ``x [N, D]``: what each row holds (``kind [N]``:
    :data:`MUSIC`, :data:`ROOM` for a room with no music: talk, crowd, clatter, or :data:`NOT_MUSIC`
    for tones, noise, beeps), by weighted multinomial logistic regression; and, on the music rows,
    a ridge regression of the music's SNR in dB (``snr_db [N]``; clean audio at
    :data:`SNR_CLEAN_DB`, values clipped to [-5, SNR_CLEAN_DB])."""
    z = head.standardize(torch.as_tensor(x, dtype=torch.float32))
    w = torch.ones(len(z)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    w = w / w.sum()
    target = torch.as_tensor(np.asarray(kind, dtype=np.int64))
    detector = torch.nn.Linear(z.shape[1], 3)
    torch.nn.init.zeros_(detector.weight)
    torch.nn.init.zeros_(detector.bias)
    optimizer = torch.optim.LBFGS(detector.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (F.cross_entropy(detector(z), target, reduction="none") * w).sum() + l2 * detector.weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    music = np.asarray(kind) == MUSIC
    zm = torch.cat([z[music], torch.ones(int(music.sum()), 1)], dim=1).double()
    wm = w[music].double() * int(music.sum())
    t = torch.as_tensor(np.clip(np.asarray(snr_db, dtype=np.float64)[music], -5.0, SNR_CLEAN_DB))
    penalty = ridge * torch.eye(zm.shape[1], dtype=torch.float64)
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    beta = torch.linalg.solve(zm.T @ (wm[:, None] * zm) + penalty, zm.T @ (wm * t))
    head.quality.weight.copy_(torch.cat([detector.weight, beta[None, :-1].float()]))
    head.quality.bias.copy_(torch.cat([detector.bias, beta[-1:].float()]))
    head.quality_fitted.fill_(1.0)


def quality_rows(music: np.ndarray, music_snr: np.ndarray, music_weights: np.ndarray, room: np.ndarray,
                 other: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, kind, snr_db, weights) for :func:`fit_quality`: music rows weigh 2/3 in all, the
    music-free room recordings and the other sounds 1/6 each."""
    x = np.concatenate([music, room, other])
    kind = np.r_[np.full(len(music), MUSIC), np.full(len(room), ROOM), np.full(len(other), NOT_MUSIC)]
    snr = np.r_[music_snr, np.full(len(room) + len(other), -5.0)]
    w = np.r_[music_weights / music_weights.sum() * 4, np.full(len(room), 1.0 / max(1, len(room))),
              np.full(len(other), 1.0 / max(1, len(other)))]
    return x, kind, snr, w
