"""``search.autocast = bf16``: the step runs its forward passes in bfloat16 (on the CPU here),
keeps α and the weights float32 and finite, and computes its losses in float32."""

from __future__ import annotations


import pytest
import torch

import tiny

from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.loop import CyclicSearch


def two_steps(autocast: str, name: str = "icdarts"):
    s_t, e_t = tiny.templates()
    s = CyclicSearch(tiny.config(search={"autocast": autocast}, algorithm={"name": name}),
                     search_template=s_t, eval_template=e_t, cells=tiny.cells(), data=tiny.data())
    s.regenerate_eval_net(0.05)
    before = [a.detach().clone() for a in s.alpha]
    meter, d = Meter(), s.data
    for i in (0, 8):
        s.cyclic_step(d.train_x[i:i + 8], d.train_y[i:i + 8], d.val_x[i:i + 8], d.val_y[i:i + 8], meter)
    return s, before, meter.means()


@pytest.mark.parametrize("name", ["icdarts", "cdarts"])
def test_bf16_step_keeps_alpha_float32_and_finite(name):
    s, before, means = two_steps("bf16", name)
    for a, b in zip(s.alpha, before):
        assert a.dtype == torch.float32 and torch.isfinite(a).all()
        assert not torch.equal(a, b)                      # α was stepped
    assert all(p.dtype == torch.float32 for p in s.search_net.parameters())
    assert all(v == v and abs(v) < 1e6 for v in means.values())   # finite losses and accuracies
    _, _, plain = two_steps("off", name)
    # the forward passes really ran in bf16: the losses differ from float32's, a little
    assert means["loss_S"] != plain["loss_S"]
    assert means["loss_S"] == pytest.approx(plain["loss_S"], rel=0.05)


def test_outputs_come_back_float32():
    from genolang.runtime.search.precision import with_precision

    s_t, e_t = tiny.templates()
    s = CyclicSearch(tiny.config(), search_template=s_t, eval_template=e_t, cells=tiny.cells(), data=tiny.data())
    net = with_precision(s.search_net, "bf16", torch.device("cpu"))
    out = net(s.data.train_x[:4])
    assert out.logits.dtype == out.ensemble.dtype == torch.float32
    assert with_precision(s.search_net, "off", torch.device("cpu")) is s.search_net
