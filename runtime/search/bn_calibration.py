"""Test accuracy that reflects a network's weights: BatchNorm statistics recalibrated first.

During a search the evaluation network E is rebuilt every epoch and trained for a few hundred
steps at most; its BatchNorm running statistics (an exponential average with momentum 0.1,
started at mean 0 and variance 1) then lag far behind what its weights produce, and a test in
eval mode with them measures that lag rather than the weights (docs/search-quality.md). Before
a test, every BatchNorm's running statistics are therefore recomputed as the plain average over
a fixed set of training batches, in train mode and without gradients (the standard "BN
recalibration" of one-shot NAS evaluation), the test runs in eval mode with them, and
everything the recalibration touched — the statistics, the momentum, the train/eval flags and
the random number generators — is put back afterwards, so that measuring never changes what the
search computes next (a resumed run still equals an uninterrupted one).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["recalibrated_bn", "calibration_batches", "accuracy", "held_out_accuracy"]


def _tracking(net: nn.Module) -> list[_BatchNorm]:
    return [m for m in net.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


def calibration_batches(x: Tensor, batch: int, limit: int) -> list[Tensor]:
    """The first ``limit`` images of ``x`` (a fixed subset: the same every epoch and on
    resume) in batches of ``batch``."""
    x = x[: max(limit, 0)]
    return [x[i:i + batch] for i in range(0, len(x), batch)]


@contextmanager
def recalibrated_bn(net: nn.Module, batches: Iterable[Tensor]) -> Iterator[nn.Module]:
    """``net`` in eval mode with its BatchNorm statistics recomputed on ``batches``; on exit
    the original statistics, momenta, modes and RNG states are restored."""
    bns = _tracking(net)
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone(), m.momentum)
             for m in bns]
    modes = {m: m.training for m in net.modules()}
    devices = [p.device for p in net.parameters() if p.device.type == "cuda"][:1]
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            for m in bns:
                m.reset_running_stats()
                m.momentum = None           # cumulative average: every batch counts the same
            net.train()
            for x in batches:
                net(x)
        net.eval()
        yield net
    finally:
        for m, (mean, var, count, momentum) in zip(bns, saved):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(count)
            m.momentum = momentum
        for m, training in modes.items():
            m.training = training


@torch.no_grad()
def accuracy(net: Callable, x: Tensor, y: Tensor, batch: int) -> float:
    """Top-1 accuracy of ``net`` (returning an output with ``.logits``) on ``(x, y)``."""
    correct = torch.zeros((), device=y.device, dtype=torch.long)
    for i in range(0, len(y), batch):
        correct += (net(x[i:i + batch]).logits.argmax(1) == y[i:i + batch]).sum()
    return correct.item() / max(len(y), 1)


def held_out_accuracy(net: nn.Module, data, search_cfg, device: torch.device) -> float | None:
    """``net``'s top-1 accuracy on ``data``'s test set (None without one), in eval mode with
    its BatchNorm statistics recalibrated on a fixed subset of the training half
    (``search.test_bn = recalibrate``), or with the running statistics as they are
    (``running``). The random generators are forked around it (a random op draws in eval
    mode too), so nothing the search computes next depends on it."""
    if data.test_x is None or len(data.test_y) == 0:
        return None
    s = search_cfg
    b = max(s.batch, 256)
    x, y = data.test_x, data.test_y
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if s.test_bn == "running":
            was = net.training
            net.eval()
            try:
                return accuracy(net, x, y, b)
            finally:
                net.train(was)
        batches = calibration_batches(data.train_x, s.batch, s.bn_calibration_images)
        with recalibrated_bn(net, batches):
            return accuracy(net, x, y, b)
