"""The search's schedules, each a pure function of the epoch and the configuration, so that a
checkpoint needs no schedule state and a resumed run sets them again: the weights' learning
rates (cosine or constant), the α learning rate that ``alpha_lr = auto`` resolves to, and the
weight of NNI's α-L1 regulariser."""

from __future__ import annotations

import math

from genolang.runtime.data.batching import epoch_batches

__all__ = ["cosine_lr", "epoch_lrs", "capped", "steps_per_epoch", "arch_lr", "regular_weight"]


def cosine_lr(base: float, eta_min: float, step: int, total: int) -> float:
    """Cosine annealing from ``base`` to ``eta_min`` over ``total`` epochs (a pure function of
    the epoch, so the schedule needs no state of its own in a checkpoint)."""
    if total <= 0:
        return base
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * min(step, total) / total)) / 2


def epoch_lrs(search_cfg, search_epoch: int) -> tuple[float, float]:
    """The learning rates of w_S and w_E in search epoch ``search_epoch``."""
    s = search_cfg
    if s.lr_schedule == "cosine":
        return (cosine_lr(s.w_lr, s.eta_min, search_epoch, s.epochs),
                cosine_lr(s.e_lr, s.eta_min, search_epoch, s.epochs))
    return s.w_lr, s.e_lr


def capped(search_cfg, steps: int) -> int:
    """``steps`` of an epoch, at most ``search.steps_per_epoch``."""
    cap = search_cfg.steps_per_epoch
    return steps if cap is None else min(steps, cap)


def steps_per_epoch(search_cfg, n_train: int, n_val: int) -> int:
    """The cyclic steps of one search epoch: one per (train, val) batch pair, capped."""
    batch = search_cfg.batch
    return capped(search_cfg, min(len(epoch_batches(n_train, batch, 0)), len(epoch_batches(n_val, batch, 0))))


def arch_lr(search_cfg, given: float | str, n_train: int, n_val: int) -> float:
    """``given`` (``search.alpha_lr``), with ``auto`` resolved: the dissertation's α travel
    spread over this schedule's α steps (compiler/lower/experiment.py, docs/search-quality.md)."""
    if given != "auto":
        return float(given)
    return search_cfg.alpha_travel / max(steps_per_epoch(search_cfg, n_train, n_val) * search_cfg.epochs, 1)


def regular_weight(algo, search_cfg, search_epoch: int) -> float:
    """NNI's α-L1 regulariser weight, decaying linearly to 0 (off unless configured)."""
    if algo.regular_coeff <= 0:
        return 0.0
    span = max(search_cfg.epochs * algo.regular_ratio, 1e-9)
    return max(algo.regular_coeff * (1 - search_epoch / span), 0.0)
