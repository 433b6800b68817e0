"""Data-parallel training without a DDP wrapper: shard every batch, average the gradients.

The cyclic search differentiates three parameter groups with three different losses, some of
them with ``backward(inputs=...)`` (α only), which a ``DistributedDataParallel`` wrapper
cannot follow (its reducer waits for gradients that are deliberately not computed). So each
rank takes its slice of every global batch, and after every backward the gradients of the
group about to be stepped are averaged with one all-reduce over a flattened buffer. All ranks
start from rank 0's weights and α and step identically, so α stays equal on every rank.

Launch with ``torchrun --nproc_per_node N -m genolang search ...``; a plain run is one
process and none of this does anything. Batch norm statistics stay per rank (no SyncBN).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

__all__ = ["world", "init_from_env", "average_gradients", "broadcast_module", "shard"]


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) without an initialised process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env(device: torch.device) -> bool:
    """Join the process group torchrun describes in the environment (if any)."""
    if not dist.is_available() or dist.is_initialized() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return dist.is_available() and dist.is_initialized()
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return True


def shard(indices: Tensor) -> Tensor:
    """This rank's part of a global batch of sample indices."""
    rank, size = world()
    return indices if size == 1 else indices[rank::size]


def average_gradients(params: list[nn.Parameter]) -> None:
    """Mean of every gradient over the ranks, in one all-reduce."""
    rank, size = world()
    if size == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= size
    for grad, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        grad.copy_(synced)


@torch.no_grad()
def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Give every rank ``src``'s parameters and buffers."""
    if world()[1] == 1:
        return
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src)
