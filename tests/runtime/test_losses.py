"""The losses of §4.1.2 and which parameter group each objective reaches, for every route."""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

import tiny

from genolang.compiler.lower.experiment import ROUTES, ExperimentConfig
from genolang.runtime.search.losses import Route, kd_loss, objectives
from genolang.runtime.search.netlink import build_eval_net, build_search_net


def test_kd_matches_kl_div_definitions():
    student, teacher = torch.randn(6, 10), torch.randn(6, 10)
    q = F.log_softmax(student / 2, dim=1)
    p = F.softmax(teacher / 2, dim=1)
    by_sample = (p * (p.log() - q)).sum() / 6 * 4           # eq 3.7: T²/N Σ p log(p/q)
    assert torch.allclose(kd_loss(student, teacher, 2.0, "batchmean"), by_sample, atol=1e-6)
    assert torch.allclose(kd_loss(student, teacher, 2.0, "mean"), by_sample / 10, atol=1e-6)
    assert kd_loss(teacher, teacher).abs() < 1e-6


def test_kd_teacher_is_the_evaluation_network():
    # KL(p‖q) with p = teacher: swapping the arguments changes the value (not symmetric)
    a, b = torch.randn(4, 5), 3 * torch.randn(4, 5)
    assert not torch.allclose(kd_loss(a, b), kd_loss(b, a))


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    s_t, e_t = tiny.templates()
    cells = tiny.cells()
    S = build_search_net(s_t, cells, torch.Generator().manual_seed(0))
    E = build_eval_net(e_t, S.genotype(), phase="eval", affine=False)
    d = tiny.data(16)
    return S, E, d


def _reaches(loss, params) -> bool:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return any(g is not None and g.abs().sum() > 0 for g in grads)


# (objective, group) -> must gradient reach it? Table §4.1.2 per route. The α objective
# and the w_S objective do depend on the other S group (they are simply not stepped on it).
@pytest.mark.parametrize("route_name", list(ROUTES))
def test_gradient_flow_per_route(nets, route_name):
    S, E, d = nets
    algo = ExperimentConfig.model_validate({"algorithm": {"route": route_name}}).algorithm
    route = Route.from_config(algo)
    alpha, w_s, w_e = S.arch_parameters(), S.weight_parameters(), list(E.parameters())
    out = objectives(route, s_val=S(d.val_x), e_val=E(d.val_x), y_val=d.val_y,
                     s_train=S(d.train_x), e_train=E(d.train_x), y_train=d.train_y)

    assert _reaches(out.alpha, alpha)
    assert not _reaches(out.alpha, w_e), "α objective must detach the teacher"

    assert _reaches(out.w_search, w_s)
    assert not _reaches(out.w_search, w_e), "w_S objective must detach the teacher"

    assert _reaches(out.w_eval, w_e)
    assert not _reaches(out.w_eval, alpha), "w_E objective must not reach α"
    assert not _reaches(out.w_eval, w_s), "w_E objective must not reach w_S"


def test_route_flags_follow_table_3_6():
    def flags(route):
        a = ExperimentConfig.model_validate({"algorithm": {"route": route}}).algorithm
        return a.ws_kd, a.we_kd, a.we_split
    assert flags("icdarts") == (True, False, "train")
    assert flags("cdarts") == (False, True, "val")
    assert flags("A1") == (True, True, "val")
    assert flags("A2") == (True, False, "val")
    assert flags("B1") == (False, True, "train")
    assert flags("B2") == (False, False, "train")


def test_kd_terms_change_the_objectives(nets):
    S, E, d = nets
    s_v, e_v, s_t, e_t = S(d.val_x), E(d.val_x), S(d.train_x), E(d.train_x)
    kw = dict(s_val=s_v, e_val=e_v, y_val=d.val_y, s_train=s_t, e_train=e_t, y_train=d.train_y)
    icd = objectives(Route(ws_kd=True, we_kd=False, we_split="train"), **kw)
    b2 = objectives(Route(ws_kd=False, we_kd=False, we_split="train"), **kw)
    a1 = objectives(Route(ws_kd=True, we_kd=True, we_split="val"), **kw)
    assert torch.allclose(b2.w_search, F.cross_entropy(s_t.logits, d.train_y))
    assert icd.w_search > b2.w_search                         # + λ·KD(train)
    assert torch.allclose(icd.w_eval, F.cross_entropy(e_t.logits, d.train_y))
    assert a1.w_eval > F.cross_entropy(e_v.logits, d.val_y)   # CE_E(val) + λ·KD(val)


def test_kd_mask_teaches_only_the_samples_whose_label_the_teacher_predicts():
    """kd_mask = teacher_correct: the samples E gets wrong add nothing (not even a gradient),
    the others add exactly their unmasked terms; the divisor stays the batch's."""
    import torch
    from genolang.runtime.search.losses import Route, kd_loss

    g = torch.Generator().manual_seed(0)
    student = torch.randn(6, 4, generator=g, requires_grad=True)
    teacher = torch.randn(6, 4, generator=g)
    y = teacher.argmax(1).clone()
    y[[1, 4]] = (y[[1, 4]] + 1) % 4            # the teacher is wrong on samples 1 and 4
    masked = Route(kd_mask="teacher_correct", lam=0.5).kd(student, teacher, y)
    right = [0, 2, 3, 5]
    by_hand = 0.5 * kd_loss(student[right], teacher[right]) * len(right) / 6
    torch.testing.assert_close(masked, by_hand)
    masked.backward()
    assert student.grad[[1, 4]].abs().max() == 0 and student.grad[right].abs().max() > 0
    plain = Route(lam=0.5).kd(student, teacher, y)
    torch.testing.assert_close(plain, 0.5 * kd_loss(student, teacher))
