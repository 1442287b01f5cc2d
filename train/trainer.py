"""The training loop shared by the trainable architectures: Adam with weight decay, early stopping
on validation accuracy, mixed precision on CUDA, and a resumable state saved atomically after
every epoch (a killed run continues where it stopped with ``resume=True`` and ends with the same
weights as an uninterrupted run).

Under ``torchrun`` (an initialised process group) the model is wrapped in DistributedDataParallel:
every rank draws the same batch order and takes its share of each batch, gradients are averaged,
BatchNorm statistics are copied from rank 0 after every epoch, and only rank 0 writes files."""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from genre_model.model_dir import atomic_path
from train import distributed

STATE_FILE = "train_state.pt"


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6
    seed: int = 0
    device: str = "cpu"


@dataclass
class FitResult:
    best_state: dict
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False


def _atomic_save(obj, path: Path) -> None:
    """Never half a file: see genre_model.model_dir.atomic_path."""
    with atomic_path(path, mode=0o600) as tmp:
        torch.save(obj, tmp)


def load_state(path: Path) -> dict:
    """A saved training state; ``weights_only`` so a state file cannot run code."""
    return torch.load(path, map_location="cpu", weights_only=True)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on ``x [N, ...]``, ``y [N]``."""
    model.eval()
    loss = correct = 0.0
    for i in range(0, len(x), batch_size):
        logits = model(x[i:i + batch_size].to(device)).float()
        target = y[i:i + batch_size].to(device)
        loss += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(dim=1) == target).sum().item()
    return loss / max(1, len(x)), correct / max(1, len(x))


def _epoch(model: nn.Module, net: nn.Module, train: tuple[torch.Tensor, ...], config: TrainConfig, optimizer,
           scaler, generator: torch.Generator, augment) -> float:
    """One pass over the training rows in the generator's order; returns the summed loss. Each rank
    takes its share of every batch (``net`` is the DistributedDataParallel wrapper under torchrun)."""
    rank, world = distributed.world()
    device = torch.device(config.device)
    use_amp = device.type == "cuda"
    x_train, y_train, w_train = train
    model.train()
    order = torch.randperm(len(x_train), generator=generator)
    total = 0.0
    for i in range(0, len(order), config.batch_size):
        idx = order[i:i + config.batch_size]
        if len(idx) < world:
            continue  # every rank must take part in every step
        idx = idx[rank::world]
        xb = x_train[idx]
        if augment is not None:
            xb = augment(xb, generator)
        xb, yb, wb = xb.to(device), y_train[idx].to(device), w_train[idx].to(device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, enabled=use_amp):
            loss = (F.cross_entropy(net(xb), yb, reduction="none") * wb).mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        total += loss.item() * len(idx) * world
    return total


def fit(model: nn.Module, train: tuple[torch.Tensor, ...], val: tuple[torch.Tensor, torch.Tensor] | None,
        config: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        on_epoch: Callable[[dict], None] | None = None) -> FitResult:
    """Train ``model`` in place; returns the best epoch's weights (by validation accuracy, or the
    last epoch's when ``val`` is None: then it runs all ``config.epochs``).

    ``train`` is ``(x [N, ...], y [N])`` or ``(x, y, weights [N])``: with weights, each example's
    cross-entropy counts in proportion to its weight (see genre_model.fitting.clip_weights).
    ``augment(batch, generator)`` transforms each training batch (features) when given.
    ``on_epoch(record)`` is called after each epoch's state is safely on disk.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(config.device)
    rank, world = distributed.world()
    model.to(device)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    torch.manual_seed(config.seed)  # dropout and initialisation-free randomness; restored on resume
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    generator = torch.Generator().manual_seed(config.seed)
    history: list[dict] = []
    best = {"epoch": -1, "accuracy": -1.0, "state": copy.deepcopy(model.state_dict())}
    start_epoch = 0
    state_path = out / STATE_FILE
    if resume and state_path.exists():
        state = load_state(state_path)
        if state["config"] != asdict(config):
            raise ValueError(f"{state_path} was written with other settings ({state['config']}); "
                             "start a new run instead of resuming")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1

    x_train, y_train, *rest = train
    w_train = (rest[0] / rest[0].mean()).float() if rest else torch.ones(len(y_train))
    stopped_early = False
    for epoch in range(start_epoch, config.epochs):
        if val is not None and epoch - best["epoch"] > config.patience and best["epoch"] >= 0:
            stopped_early = True
            break
        total = _epoch(model, net, (x_train, y_train, w_train), config, optimizer, scaler, generator, augment)
        if world > 1:  # identical parameters already; make BatchNorm's running statistics identical too
            for buffer in model.buffers():
                torch.distributed.broadcast(buffer, src=0)
        record = {"epoch": epoch, "train_loss": round(total / len(x_train), 5)}
        improved = True  # without validation the latest epoch is the one kept
        if val is not None:
            val_loss, val_acc = evaluate(model, *val, config.batch_size, device)
            record.update(val_loss=round(val_loss, 5), val_accuracy=round(val_acc, 5))
            improved = val_acc > best["accuracy"]
        history.append(record)
        if improved:
            best = {"epoch": epoch, "accuracy": val_acc if val is not None else None,
                    "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        if rank == 0:
            _atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                          "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
                          "history": history, "best": best, "config": asdict(config)}, state_path)
        if on_epoch:
            on_epoch(record)
    return FitResult(best_state=best["state"], best_epoch=best["epoch"], history=history, stopped_early=stopped_early)
