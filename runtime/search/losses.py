"""The losses of the cyclic search (§4.1.2) and which parameter group each one trains.

``KD(S, E) = T² · KL(softmax(E/T) ‖ softmax(S/T))``: E (the evaluation network) is the
teacher p, S (the search network) the student q (eq 3.8, ambiguity A8). Whether gradient
reaches the teacher is decided by the caller through ``.detach()``; :func:`objectives` does
that per route, so that every objective only depends on the parameters it is meant to train.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch.nn.functional as F
from torch import Tensor

__all__ = ["kd_loss", "Objectives", "Route", "objectives", "alpha_objective", "net_ce", "cream_objective"]


def kd_loss(student: Tensor, teacher: Tensor, T: float = 2.0,
            reduction: Literal["mean", "batchmean"] = "mean", keep: Tensor | None = None) -> Tensor:
    """Distillation of ``teacher`` logits into ``student`` logits at temperature ``T``.

    ``mean`` averages over every element (CDARTS code, ÷ n_classes relative to eq 3.7);
    ``batchmean`` averages over samples (eq 3.7). ``keep`` (one 0/1 per sample) drops the
    other samples' terms from the sum, the divisor unchanged.
    """
    log_q = F.log_softmax(student / T, dim=-1)
    log_p = F.log_softmax(teacher / T, dim=-1)
    pointwise = log_p.exp() * (log_p - log_q)
    if keep is not None:
        pointwise = pointwise * keep.unsqueeze(-1)
    divisor = pointwise.numel() if reduction == "mean" else pointwise.shape[0]
    return pointwise.sum() * (T * T / divisor)


@dataclass(frozen=True)
class Route:
    """The three switches of Table 3.6 plus the distillation settings."""

    ws_kd: bool = True                 # w_S objective includes λ·KD (ICDARTS, A1, B3)
    we_kd: bool = False                # w_E objective includes λ·KD, E learning from S (CDARTS)
    we_split: Literal["train", "val"] = "train"
    T: float = 2.0
    lam: float = 1.0
    reduction: Literal["mean", "batchmean"] = "mean"
    head_ce: float = 0.0               # weight of CE on each distill head in w_S's and w_E's objectives
    # which samples the teacher teaches (S's objectives): all, or only those whose label it
    # predicts (docs/search-quality.md: a teacher that is wrong teaches its error)
    kd_mask: Literal["none", "teacher_correct"] = "none"

    @classmethod
    def from_config(cls, algorithm) -> "Route":
        return cls(ws_kd=algorithm.ws_kd, we_kd=algorithm.we_kd, we_split=algorithm.we_split,
                   T=algorithm.T, lam=algorithm.lam, reduction=algorithm.kd_reduction,
                   head_ce=algorithm.head_ce, kd_mask=algorithm.kd_mask)

    def kd(self, student: Tensor, teacher: Tensor, y: Tensor | None = None) -> Tensor:
        """λ·KD of ``teacher`` into ``student``; with ``kd_mask = teacher_correct`` and the
        labels ``y``, only over the samples whose label the (detached) teacher predicts."""
        keep = None
        if self.kd_mask == "teacher_correct" and y is not None:
            keep = (teacher.detach().argmax(-1) == y).to(student.dtype)
        return self.lam * kd_loss(student, teacher, self.T, self.reduction, keep)


@dataclass
class Objectives:
    """One loss per parameter group; ``None`` where the group is not trained in this pass."""

    alpha: Tensor | None = None
    w_search: Tensor | None = None
    w_eval: Tensor | None = None


def net_ce(route: Route, out, y: Tensor) -> Tensor:
    """A network's classification loss in its weight objective: CE of the final classifier,
    plus ``head_ce`` times the CE of each distill head. E's heads are two of the three parts
    of the teacher's ensemble; without this term (and unshared) nothing would ever train
    them, nor S's heads on the routes without KD in w_S (docs/fidelity.md)."""
    loss = F.cross_entropy(out.logits, y)
    if route.head_ce > 0:
        for head in getattr(out, "heads", ()):
            loss = loss + route.head_ce * F.cross_entropy(head, y)
    return loss


def cream_objective(route: Route, s_val, e_val, y_val: Tensor) -> Tensor:
    """Step 1 of the official CDARTS code (``search_function.search``), as one loss:
    ``(CE_S + CE_E) / λ + λ·KD(S, E)``, the teacher *not* detached. Its backward trains α,
    w_E and the shared modules at once (icdarts-spec §1.4)."""
    cls = (F.cross_entropy(s_val.logits, y_val) + F.cross_entropy(e_val.logits, y_val)) / route.lam
    return cls + route.lam * kd_loss(s_val.ensemble, e_val.ensemble, route.T, route.reduction)


def alpha_objective(route: Route, s_val, e_val, y_val: Tensor) -> Tensor:
    """eq 3.9: ``CE_S(val) + λ·KD(val)``, the teacher detached (A3)."""
    return F.cross_entropy(s_val.logits, y_val) + route.kd(s_val.ensemble, e_val.ensemble.detach(), y_val)


def objectives(route: Route, *, s_val=None, e_val=None, y_val: Tensor | None = None,
               s_train=None, e_train=None, y_train: Tensor | None = None) -> Objectives:
    """The α, w_S and w_E objectives of one cyclic step, given the network outputs.

    Outputs are ``NetOutput``-like (``.logits``, ``.ensemble``). Pass the val outputs to get
    the α objective (and w_E's, when ``we_split == "val"``), the train outputs for w_S (and
    w_E's, when ``we_split == "train"``).
    """
    out = Objectives()
    if s_val is not None and e_val is not None:
        out.alpha = alpha_objective(route, s_val, e_val, y_val)
    if s_train is not None:
        loss = net_ce(route, s_train, y_train)
        if route.ws_kd:
            loss = loss + route.kd(s_train.ensemble, e_train.ensemble.detach(), y_train)
        out.w_search = loss
    s_e, e_e, y_e = (s_val, e_val, y_val) if route.we_split == "val" else (s_train, e_train, y_train)
    if e_e is not None:
        loss = net_ce(route, e_e, y_e)
        if route.we_kd:
            # E learns from S: gradient flows into the teacher side only.
            loss = loss + route.kd(s_e.ensemble.detach(), e_e.ensemble)
        out.w_eval = loss
    return out
