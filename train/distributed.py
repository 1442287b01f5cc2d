"""Data-parallel training under ``torchrun``: the process group, ranks, and rank 0 going first where
it writes shared files. Outside torchrun every helper is a no-op (rank 0 of a world of 1)."""

from __future__ import annotations

import os
from typing import Callable, TypeVar

import torch

T = TypeVar("T")


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside torchrun."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def rank() -> int:
    return world()[0]


def barrier() -> None:
    if world()[1] > 1:
        torch.distributed.barrier()


def rank0_first(make: Callable[[], T]) -> T:
    """``make()`` on rank 0, then on the other ranks once it is done: what rank 0 writes to disk
    (caches, generated voices) the others read instead of racing to write it too."""
    result = make() if rank() == 0 else None
    barrier()
    return make() if rank() > 0 else result


def init(device: str) -> str:
    """Join the process group when started by torchrun; returns the device this rank uses."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    cuda = device.startswith("cuda")
    torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return f"cuda:{local}"
    return device


def agreement(model: torch.nn.Module, digest: Callable[[torch.nn.Module], str]) -> dict | None:
    """Whether every rank ended with the same weights (None outside torchrun)."""
    if world()[1] <= 1:
        return None
    digests = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(digests, digest(model))
    return {"world_size": len(digests), "backend": torch.distributed.get_backend(),
            "weights_sha256_per_rank": digests, "ranks_agree": len(set(digests)) == 1}
