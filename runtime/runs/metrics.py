"""Evaluation metrics: top-k accuracy, ROC AUC, the lens-finding F_β, running means, latency.

Scores for the binary metrics are the probability (or any monotone score) of the positive
class; :func:`positive_scores` turns a network's logits into that.
"""

from __future__ import annotations

import statistics
from contextlib import contextmanager
import time
from typing import Iterable, Sequence

import numpy as np
import torch

# The SGLFC 2.0 F_β weights precision 1000× more than recall (β² = 1e-3, spec §4.7): a lens
# search wants a clean candidate list more than a complete one.
LENS_BETA2 = 1e-3


def _numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def accuracy(logits: torch.Tensor, targets: torch.Tensor, topk: Sequence[int] = (1,)) -> list[float]:
    """Fraction (0–1) of samples whose target is among the ``k`` highest logits, for each ``k``.

    ``k`` larger than the number of classes counts every sample as correct (top-5 of a binary task).
    """
    if len(targets) == 0:
        return [float("nan")] * len(topk)
    maxk = min(max(topk), logits.shape[1])
    top = logits.topk(maxk, dim=1).indices
    hits = top.eq(targets.view(-1, 1))
    return [float(hits[:, :min(k, maxk)].any(dim=1).float().mean()) for k in topk]


def positive_scores(logits: torch.Tensor) -> torch.Tensor:
    """Probability of class 1: softmax of two-column logits, sigmoid of a single column."""
    logits = logits.detach().float()
    if logits.dim() == 1 or logits.shape[1] == 1:
        return torch.sigmoid(logits.reshape(-1))
    if logits.shape[1] != 2:
        raise ValueError(f"binary scores need 1 or 2 logit columns, got {logits.shape[1]}")
    return torch.softmax(logits, dim=1)[:, 1]


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve; NaN when ``labels`` hold only one class (it is undefined then)."""
    from sklearn.metrics import roc_auc_score

    y = _numpy(labels).astype(int)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, _numpy(scores)))


def fbeta(precision: float, recall: float, beta2: float = LENS_BETA2) -> float:
    """F_β = (1+β²)·P·R / (β²·P + R), and 0 where both are 0."""
    denominator = beta2 * precision + recall
    return 0.0 if denominator == 0 else (1 + beta2) * precision * recall / denominator


def max_fbeta(scores, labels, beta2: float = LENS_BETA2) -> tuple[float, float]:
    """The best F_β over all decision thresholds, and the threshold that reaches it.

    A sample is called positive when its score is ``>= threshold``. The thresholds are the
    distinct scores (sklearn's ``precision_recall_curve``); the curve's final point (recall 0,
    no threshold) is left out. With no positive label F_β is 0 at every threshold: (0.0, inf).
    """
    from sklearn.metrics import precision_recall_curve

    y = _numpy(labels).astype(int)
    s = _numpy(scores).astype(np.float64)
    if not (y == 1).any():
        return 0.0, float("inf")
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]
    denominator = beta2 * precision + recall
    f = np.divide((1 + beta2) * precision * recall, denominator,
                  out=np.zeros_like(precision), where=denominator > 0)
    best = int(np.argmax(f))
    return float(f[best]), float(thresholds[best])


def precision_recall_at(scores, labels, threshold: float) -> tuple[float, float]:
    """Precision and recall when ``score >= threshold`` means positive (0 where undefined)."""
    y = _numpy(labels).astype(bool)
    predicted = _numpy(scores) >= threshold
    true_positives = int((predicted & y).sum())
    precision = true_positives / int(predicted.sum()) if predicted.any() else 0.0
    recall = true_positives / int(y.sum()) if y.any() else 0.0
    return precision, recall


def binary_accuracy(scores, labels, threshold: float = 0.5) -> float:
    """Fraction of samples whose ``score >= threshold`` agrees with the label."""
    y = _numpy(labels).astype(bool)
    return float(((_numpy(scores) >= threshold) == y).mean()) if len(y) else float("nan")


class AverageMeter:
    """A running mean of a value reported per batch, weighted by the batch size."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sum, self.count, self.last = 0.0, 0, 0.0

    def update(self, value: float | torch.Tensor, n: int = 1) -> None:
        self.last = float(value)
        self.sum += self.last * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return f"AverageMeter(avg={self.avg:.4g}, count={self.count})"


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def fixed_threads(n: int | None):
    """torch's intra-op thread count held at ``n`` (restored afterwards): a timing taken while
    a load-following count changes measures the machine's load, not the network."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def latency_per_batch(model: torch.nn.Module, batches: Iterable[torch.Tensor], warmup: int = 2,
                      repeats: int = 1, threads: int | None = None) -> float:
    """Seconds per batch of inference (spec §4.1.6): eval mode, no gradients; the median over
    ``repeats`` passes over all ``batches`` of each pass's mean, with ``threads`` CPU threads.

    ``batches`` are input tensors (or ``(x, y)`` pairs), already on the model's device. The
    first ``warmup`` forwards are not timed (lazy initialisation, cuDNN autotuning). The
    median of several passes, at a fixed thread count, makes the figure a property of the
    network rather than of whatever else the machine was doing during one pass. CUDA work is
    synchronised around each timed pass, because kernels launch asynchronously. The model's
    training mode is restored afterwards.
    """
    inputs = [b[0] if isinstance(b, (tuple, list)) else b for b in batches]
    if not inputs:
        raise ValueError("latency_per_batch needs at least one batch")
    if repeats < 1 or warmup < 0:
        raise ValueError("repeats must be >= 1 and warmup >= 0")
    device = inputs[0].device
    was_training = model.training
    model.eval()
    passes = []
    try:
        with torch.no_grad(), fixed_threads(threads):
            for i in range(warmup):
                model(inputs[i % len(inputs)])
            for _ in range(repeats):
                _synchronise(device)
                start = time.perf_counter()
                for x in inputs:
                    model(x)
                _synchronise(device)
                passes.append((time.perf_counter() - start) / len(inputs))
    finally:
        model.train(was_training)
    return statistics.median(passes)
