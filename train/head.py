"""Fit the genre head (standardise + multinomial logistic regression) on chunk embeddings."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genre_model.models.musicnn import GenreHead


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = 1e-2, seed: int = 0,
             max_iter: int = 200, bank_size: int = 2048) -> GenreHead:
    """Train a :class:`GenreHead` on embeddings ``x [N, D]`` with integer labels ``y [N]``.

    Full-batch L-BFGS on the mean cross-entropy plus ``l2 * ||W||^2``: convex, so the result
    depends on the data only. ``seed`` picks the training chunks kept for the novelty bank
    (``bank_size`` of them, or all when there are fewer).
    """
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    bank_rows = np.random.default_rng(seed).permutation(len(xt))[:bank_size]
    head = GenreHead(xt.shape[1], n_classes, bank_size=len(bank_rows))
    head.mean.copy_(xt.mean(dim=0))
    head.std.copy_(xt.std(dim=0).clamp_min(1e-6))
    with torch.no_grad():
        head.linear.weight.zero_()
        head.linear.bias.zero_()
    z = head.standardize(xt).detach()
    optimizer = torch.optim.LBFGS(head.linear.parameters(), lr=1.0, max_iter=max_iter,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-6)

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(head.linear(z), yt) + l2 * head.linear.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    fill_novelty_bank(head, z[torch.as_tensor(bank_rows)])
    return head.eval()


@torch.no_grad()
def fill_novelty_bank(head: GenreHead, z: torch.Tensor) -> None:
    """Keep standardised training embeddings ``z [bank_size, D]`` as the novelty bank and scale
    distances so the 99th percentile among them is 1.0."""
    head.bank.copy_(z)
    own = head.neighbour_distance(head.bank, exclude_self=True)
    head.novelty_scale.fill_(float(torch.quantile(own, 0.99)))


@torch.inference_mode()
def head_probabilities(head: GenreHead, x: np.ndarray) -> np.ndarray:
    return torch.softmax(head(torch.as_tensor(x, dtype=torch.float32)), dim=1).numpy()
