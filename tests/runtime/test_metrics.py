"""Metrics against hand-computed values and scikit-learn."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import fbeta_score, roc_auc_score

from genolang.runtime.runs.metrics import (AverageMeter, accuracy, binary_accuracy, fbeta, latency_per_batch,
                                      max_fbeta, positive_scores, precision_recall_at, roc_auc)


def test_topk_accuracy():
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.5, 0.4, 0.1]])
    targets = torch.tensor([1, 1, 0, 2])
    top1, top2, top5 = accuracy(logits, targets, topk=(1, 2, 5))
    assert top1 == 0.25 and top2 == 0.5 and top5 == 1.0


def test_fbeta_formula_by_hand():
    # P = 0.5, R = 1, β² = 1: F1 = 2·0.5·1/(0.5+1) = 2/3.
    assert fbeta(0.5, 1.0, beta2=1.0) == pytest.approx(2 / 3)
    # The lens weighting is almost precision: (1.001·0.5·1)/(0.0005+1).
    assert fbeta(0.5, 1.0) == pytest.approx(1.001 * 0.5 / 1.0005)
    assert fbeta(0.0, 0.0) == 0.0


def test_max_fbeta_by_hand():
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    labels = np.array([0, 0, 1, 1])
    # Threshold 0.8: P = 1, R = 0.5 → F = 1.001·0.5/(0.001 + 0.5); others have P < 1.
    best, threshold = max_fbeta(scores, labels)
    assert threshold == 0.8 and best == pytest.approx(1.001 * 0.5 / 0.501)
    # β² = 1: thresholds 0.35 → P 2/3, R 1 → F1 0.8 beats 0.8 → P 1, R .5 → F1 2/3.
    best1, threshold1 = max_fbeta(scores, labels, beta2=1.0)
    assert threshold1 == 0.35 and best1 == pytest.approx(0.8)


def test_max_fbeta_matches_sklearn_at_each_threshold():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1)
    best, threshold = max_fbeta(scores, labels, beta2=1e-3)
    brute = max(fbeta_score(labels, scores >= t, beta=math.sqrt(1e-3), zero_division=0) for t in np.unique(scores))
    assert best == pytest.approx(brute)
    assert fbeta(*precision_recall_at(scores, labels, threshold)) == pytest.approx(best)


def test_max_fbeta_without_positives():
    assert max_fbeta([0.1, 0.2], [0, 0]) == (0.0, math.inf)


def test_roc_auc_matches_sklearn_and_handles_one_class():
    rng = np.random.default_rng(1)
    labels, scores = rng.integers(0, 2, 50), rng.random(50)
    assert roc_auc(torch.tensor(scores), torch.tensor(labels)) == pytest.approx(roc_auc_score(labels, scores))
    assert roc_auc([0.0, 0.5, 0.3, 0.9], [0, 0, 1, 1]) == 0.75
    assert math.isnan(roc_auc([0.1, 0.2], [1, 1]))


def test_positive_scores_and_binary_accuracy():
    two = torch.tensor([[0.0, 0.0], [0.0, 10.0]])
    assert positive_scores(two).tolist() == pytest.approx([0.5, 1.0], abs=1e-4)
    assert positive_scores(torch.tensor([[0.0]])).tolist() == [0.5]
    assert binary_accuracy([0.2, 0.7, 0.5], [0, 1, 0]) == pytest.approx(2 / 3)
    assert precision_recall_at([0.2, 0.7, 0.5], [0, 1, 0], 0.5) == (0.5, 1.0)


def test_average_meter_weights_by_count():
    meter = AverageMeter()
    meter.update(1.0, n=3)
    meter.update(torch.tensor(5.0), n=1)
    assert meter.avg == 2.0 and meter.count == 4 and meter.last == 5.0
    meter.reset()
    assert meter.avg == 0.0


def test_latency_per_batch_counts_calls_and_restores_mode():
    calls = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            calls.append((self.training, torch.is_grad_enabled()))
            return x * 2

    model = Probe().train()
    batches = [torch.ones(2, 3), (torch.ones(2, 3), torch.zeros(2))]
    seconds = latency_per_batch(model, batches, warmup=3, repeats=2)
    assert seconds >= 0 and len(calls) == 3 + 2 * 2
    assert all(mode == (False, False) for mode in calls) and model.training


def test_latency_holds_the_thread_count_it_is_given_and_restores_it():
    """The timing runs at the fixed count (never the load-following one) and gives it back."""
    import torch
    from genolang.runtime.runs.metrics import latency_per_batch

    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    t = latency_per_batch(Probe(), [torch.zeros(2, 1)] * 3, warmup=1, repeats=4, threads=target)
    assert t >= 0 and seen == [target] * (1 + 4 * 3)
    assert torch.get_num_threads() == before


def test_latency_is_the_median_of_its_passes(monkeypatch):
    """One slow pass (a burst of load) does not move the figure: the median of the passes."""
    import torch
    import genolang.runtime.runs.metrics as metrics

    clock = iter([0.0, 1.0, 1.0, 2.0, 2.0, 30.0, 30.0, 31.0])   # pass times 1, 1, 28, 1
    monkeypatch.setattr(metrics.time, "perf_counter", lambda: next(clock))
    t = metrics.latency_per_batch(torch.nn.Identity(), [torch.zeros(1)], warmup=0, repeats=4)
    assert t == 1.0
