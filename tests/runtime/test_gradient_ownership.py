"""Every parameter is trained by the loss that owns it, and by no other (icdarts-spec §4.1.2).

The table of §4.1.2 (and Table 3.6, and Algorithm 4) is written below as data: for each
algorithm and route, which loss each parameter group is stepped on. The test runs one real
cyclic step and records, at every ``optimizer.step()``, the gradient each parameter is
stepped with and the parameter values of the backward pass that produced it. It then
recomputes the owning loss from the table, independently of the runtime's code, at those
values, and checks that

* the optimisers own exactly the groups of the table (α/γ, w_S, w_E; shared modules in both
  SGDs where the algorithm shares them),
* every trainable parameter is stepped with a non-zero gradient (the check that catches an
  untrained teacher head), and
* that gradient is the owning loss's gradient (so no other loss leaked into it).

Gradient clipping is switched off (a huge max norm) so that gradients compare exactly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

import tiny

from genolang.compiler.lower.program import loads
from genolang.runtime.jobs.hierarchical import MacroSearch
from genolang.runtime.search.losses import kd_loss
from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.netlink import share_stem_heads
from genolang.runtime.search.loop import CyclicSearch


@dataclass(frozen=True)
class Owner:
    """A loss of the table: its terms and its batch. ``kd`` is ``None`` (no KD term),
    ``"student"`` (gradient into S only, E detached), ``"teacher"`` (into E only, S
    detached) or ``"both"`` (nothing detached, Cream's step 1)."""

    ce_s: float = 0.0           # weight of CE_S
    ce_e: float = 0.0           # weight of CE_E
    kd: str | None = None
    batch: str = "val"
    heads: bool = True          # the CE terms include head_ce · CE of each distill head (weights only)


LAM = 1.0
# §4.1.2 and Table 3.6 as data: group -> its loss.
TABLE = {
    "icdarts": {"arch": Owner(ce_s=1, kd="student", batch="val", heads=False),
                "w_S": Owner(ce_s=1, kd="student", batch="train"),
                "w_E": Owner(ce_e=1, batch="train")},
    "A1": {"arch": Owner(ce_s=1, kd="student", batch="val", heads=False),
           "w_S": Owner(ce_s=1, kd="student", batch="train"),
           "w_E": Owner(ce_e=1, kd="teacher", batch="val")},
    "A2": {"arch": Owner(ce_s=1, kd="student", batch="val", heads=False),
           "w_S": Owner(ce_s=1, kd="student", batch="train"),
           "w_E": Owner(ce_e=1, batch="val")},
    "B1": {"arch": Owner(ce_s=1, kd="student", batch="val", heads=False),
           "w_S": Owner(ce_s=1, batch="train"),
           "w_E": Owner(ce_e=1, kd="teacher", batch="train")},
    "B2": {"arch": Owner(ce_s=1, kd="student", batch="val", heads=False),
           "w_S": Owner(ce_s=1, batch="train"),
           "w_E": Owner(ce_e=1, batch="train")},
    # Cream's step: α and w_E (with the shared stem and heads) on one loss, CE / λ.
    "cdarts": {"arch": Owner(ce_s=1 / LAM, ce_e=1 / LAM, kd="both", batch="val"),
               "w_S": Owner(ce_s=1, batch="train"),
               "w_E": Owner(ce_s=1 / LAM, ce_e=1 / LAM, kd="both", batch="val")},
}
TABLE["route_cdarts"] = {"arch": TABLE["icdarts"]["arch"], "w_S": TABLE["B1"]["w_S"],
                         "w_E": Owner(ce_e=1, kd="teacher", batch="val")}
TABLE["macro"] = TABLE["icdarts"]          # Algorithm 4 = Algorithm 1 with γ for α (eqs 6.2-6.4)


def owner_loss(owner: Owner, S, E, batch, head_ce: float, T: float, reduction: str):
    x, y = batch
    s, e = S(x), E(x)
    loss = x.new_zeros(())

    def ce(out):
        heads = sum((F.cross_entropy(h, y) for h in out.heads), x.new_zeros(())) if owner.heads else 0
        return F.cross_entropy(out.logits, y) + head_ce * heads

    if owner.ce_s:
        loss = loss + owner.ce_s * ce(s)
    if owner.ce_e:
        loss = loss + owner.ce_e * ce(e)
    if owner.kd is not None:
        student = s.ensemble.detach() if owner.kd == "teacher" else s.ensemble
        teacher = e.ensemble.detach() if owner.kd == "student" else e.ensemble
        loss = loss + LAM * kd_loss(student, teacher, T, reduction)
    return loss


class Recorder:
    """Snapshots of every parameter at each backward pass, and of the gradients each
    optimiser steps with (with the snapshot of the latest backward)."""

    def __init__(self, params):
        self.params = params
        self.latest = None
        self.events: list[tuple[str, dict[int, torch.Tensor], dict[int, torch.Tensor]]] = []

    def snapshot(self):
        self.latest = {id(p): p.detach().clone() for p in self.params}

    def wrap(self, name: str, opt):
        original = opt.step

        def step(*args, **kwargs):
            grads = {id(p): p.grad.detach().clone() for g in opt.param_groups for p in g["params"]
                     if p.grad is not None}
            self.events.append((name, grads, self.latest))
            return original(*args, **kwargs)

        opt.step = step


def _searcher(case: str):
    cfg = {"search": {"grad_clip": 1e12, "augment": False}}
    if case == "cdarts":
        cfg["algorithm"] = {"name": "cdarts", "lam": LAM}
    elif case == "route_cdarts":
        cfg["algorithm"] = {"name": "icdarts", "route": "cdarts"}
    elif case != "icdarts":
        cfg["algorithm"] = {"route": case}
    s_t, e_t = tiny.templates()
    return CyclicSearch(tiny.config(**cfg), search_template=s_t, eval_template=e_t,
                        cells=tiny.cells(), data=tiny.data())


def _macro_searcher(version: int):
    program = loads(tiny.MACRO_CELLS + tiny.MACRO_NETWORK % "3x16x16" + tiny.MACRO_GENOTYPE)
    macro = program.macros["skips" if version == 1 else "place"]
    cfg = tiny.config(search={"grad_clip": 1e12, "augment": False, "batch": 8})
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20, 3, 16, 16, generator=g)
    y = torch.randint(0, 10, (20,), generator=g)
    data = tiny.SearchData(x[:8], y[:8], x[8:16], y[8:16], x[16:], y[16:])
    return MacroSearch(cfg, macro=macro, template=program.templates["tiny"],
                       genotype=program.genotypes["micro"], data=data)


CASES = ["icdarts", "cdarts", "route_cdarts", "A1", "A2", "B1", "B2", "macro_v1", "macro_v2"]


@pytest.mark.parametrize("case", CASES)
def test_each_parameter_is_trained_by_its_own_loss(case, monkeypatch):
    searcher = _macro_searcher(int(case[-1])) if case.startswith("macro") else _searcher(case)
    table = TABLE["macro" if case.startswith("macro") else case]
    searcher.regenerate_eval_net(searcher.search_cfg.e_lr)
    S, E = searcher.search_net, searcher.eval_net
    shared = searcher._shared_modules()
    assert shared == (case == "cdarts"), "only the CDARTS baseline shares stem and heads by default"

    groups = {"arch": searcher.arch, "w_S": searcher.w_search, "w_E": searcher.w_eval}
    optimisers = {"arch": searcher.opt_arch, "w_S": searcher.opt_w, "w_E": searcher.opt_e}
    # The optimisers own exactly the table's groups ...
    for name, opt in optimisers.items():
        assert {id(p) for g in opt.param_groups for p in g["params"]} == {id(p) for p in groups[name]}, name
    # ... and every trainable parameter of S, E and the architecture is in one of them.
    trainable = {id(p) for net in (S, E) for p in net.parameters() if p.requires_grad}
    assert trainable == {id(p) for ps in groups.values() for p in ps}
    overlap = {id(p) for p in searcher.w_search} & {id(p) for p in searcher.w_eval}
    assert bool(overlap) == shared

    everything = list({id(p): p for ps in groups.values() for p in ps}.values())
    recorder = Recorder(everything)
    for name, opt in optimisers.items():
        recorder.wrap(name, opt)
    original_backward = torch.Tensor.backward

    def backward(self, *args, **kwargs):
        recorder.snapshot()
        return original_backward(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", backward)
    train_idx, val_idx = torch.arange(8), torch.arange(8)
    batches = {"train": searcher._get("train", train_idx), "val": searcher._get("val", val_idx)}
    before = (copy.deepcopy(S.state_dict()), copy.deepcopy(E.state_dict()))
    searcher.cyclic_step(*batches["train"], *batches["val"], Meter())
    monkeypatch.setattr(torch.Tensor, "backward", original_backward)

    stepped = [name for name, _, _ in recorder.events]
    assert sorted(stepped) == ["arch", "w_E", "w_S"], stepped

    algo = searcher.config.algorithm
    trained: set[int] = set()
    for name, grads, values in recorder.events:
        # A copy of both networks at the values of the backward pass that made these gradients.
        S_ref, E_ref = copy.deepcopy(S), copy.deepcopy(E)
        S_ref.load_state_dict(before[0])
        E_ref.load_state_dict(before[1])
        if shared:
            share_stem_heads(S_ref, E_ref)
        ref_params = _params_like(searcher, S_ref, E_ref, everything)
        with torch.no_grad():
            for p, ref in zip(everything, ref_params):
                ref.copy_(values[id(p)])
        loss = owner_loss(table[name], S_ref, E_ref, batches[table[name].batch], algo.head_ce,
                          algo.T, algo.kd_reduction)
        owned = [p for p in everything if any(p is q for q in groups[name])]
        refs = [ref for p, ref in zip(everything, ref_params) if any(p is q for q in groups[name])]
        expected = torch.autograd.grad(loss, refs, allow_unused=True)
        for p, ref_grad, label in zip(owned, expected, _names(searcher, owned)):
            got = grads.get(id(p))
            if got is None:   # not stepped by this optimiser: the owning loss must not reach it
                assert ref_grad is None or not ref_grad.any(), f"{case}: {label} ({name}) lost its gradient"
                continue
            torch.testing.assert_close(got, ref_grad if ref_grad is not None else torch.zeros_like(got),
                                       rtol=1e-4, atol=1e-6,
                                       msg=lambda m: f"{case}: {label} ({name}) is not trained by its own "
                                                     f"loss alone: {m}")
            if got.any():
                trained.add(id(p))
    untrained = [label for p, label in zip(everything, _names(searcher, everything)) if id(p) not in trained]
    assert not untrained, f"{case}: stepped with no gradient at all: {untrained}"


def _params_like(searcher, S_ref, E_ref, everything):
    """The copies' parameters in the order of ``everything`` (matched by module path)."""
    paths = {}
    for prefix, net in (("S", searcher.search_net), ("E", searcher.eval_net)):
        for n, p in net.named_parameters(remove_duplicate=False):
            paths.setdefault(id(p), (prefix, n))
    refs = {"S": dict(S_ref.named_parameters(remove_duplicate=False)),
            "E": dict(E_ref.named_parameters(remove_duplicate=False))}
    return [refs[paths[id(p)][0]][paths[id(p)][1]] for p in everything]


def _names(searcher, params):
    names = {}
    for prefix, net in (("S", searcher.search_net), ("E", searcher.eval_net)):
        for n, p in net.named_parameters(remove_duplicate=False):
            names.setdefault(id(p), f"{prefix}.{n}")
    return [names.get(id(p), "?") for p in params]


def test_teacher_heads_are_trained_in_warmup():
    """The warm-up trains E's distill heads too (the defect this table was written for)."""
    searcher = _searcher("icdarts")
    searcher.regenerate_eval_net(0.08)
    heads = [p.detach().clone() for p in searcher.eval_net.distill_heads.parameters()]
    searcher.warmup_eval(0)
    after = list(searcher.eval_net.distill_heads.parameters())
    assert heads and all(not torch.equal(a, b) for a, b in zip(heads, after))
