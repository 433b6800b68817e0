"""A search-phase test accuracy reflects the weights: BatchNorm statistics recalibrated on
training batches, checked against an independent computation, and never felt by the search."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import torch
from torch import nn

import tiny

from genolang.runtime.search.bn_calibration import accuracy, calibration_batches, recalibrated_bn
from genolang.runtime.search.loop import CyclicSearch


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)
        with torch.no_grad():
            self.bn.weight.uniform_(0.5, 2.0)
            self.bn.bias.uniform_(-1, 1)

    def forward(self, x):
        h = self.bn(self.conv(x)).relu().mean((2, 3))
        return SimpleNamespace(logits=self.fc(h))


def _by_hand(net: ConvBN, batches, x_test) -> torch.Tensor:
    """The recalibrated statistics written out: the plain average over batches of each batch's
    mean and unbiased variance of the conv's output, then the eval-mode forward by hand."""
    with torch.no_grad():
        feats = [net.conv(b) for b in batches]
        mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
        var = torch.stack([f.transpose(0, 1).reshape(4, -1).var(1, unbiased=True) for f in feats]).mean(0)
        f = net.conv(x_test)
        z = (f - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + net.bn.eps)
        z = z * net.bn.weight[None, :, None, None] + net.bn.bias[None, :, None, None]
        return net.fc(z.relu().mean((2, 3)))


def test_recalibrated_accuracy_equals_a_hand_computation_and_restores_everything():
    net = ConvBN()
    g = torch.Generator().manual_seed(1)
    x_train = torch.randn(40, 3, 6, 6, generator=g) * 3 + 1
    x_test, y_test = torch.randn(50, 3, 6, 6, generator=g) * 3 + 1, torch.randint(0, 3, (50,), generator=g)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    batches = calibration_batches(x_train, 16, 40)
    assert [len(b) for b in batches] == [16, 16, 8]
    with recalibrated_bn(net, batches) as calibrated:
        assert not calibrated.training
        got = accuracy(calibrated, x_test, y_test, 7)
        logits = calibrated(x_test).logits
    expected = _by_hand(net, batches, x_test)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-5)
    assert got == (expected.argmax(1) == y_test).sum().item() / len(y_test)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert net.training and net.bn.momentum == 0.1 and torch.equal(rng, torch.get_rng_state())


def test_the_search_reports_the_recalibrated_accuracy_of_E():
    """acc_E_test equals an independent recalibrated evaluation of a copy of the same E."""
    s_t, e_t = tiny.templates(search_cells=3, eval_cells=3)   # depth is not what is checked
    search = CyclicSearch(tiny.config(search={"epochs": 1}), search_template=s_t, eval_template=e_t,
                          cells=tiny.cells(), data=tiny.data(n=48, test=30))
    search.run()
    reported = search.test_accuracy(search.eval_net)
    twin = copy.deepcopy(search.eval_net)
    for m in twin.modules():
        if isinstance(m, nn.BatchNorm2d) and m.track_running_stats:
            m.reset_running_stats()
            m.momentum = None
    twin.train()
    with torch.no_grad():
        for b in calibration_batches(search.data.train_x, 16, 1024):
            twin(b)
    twin.eval()
    with torch.no_grad():
        expected = (twin(search.data.test_x).logits.argmax(1) == search.data.test_y).sum().item()
    assert reported == expected / len(search.data.test_y)


def test_measuring_never_changes_the_search():
    """The same search with recalibrated tests, with running-statistics tests and with no
    tests ends with the same α and weights: a measurement is not part of the trajectory."""
    def final(**search):
        s_t, e_t = tiny.templates(search_cells=3, eval_cells=3)   # depth is not what is checked
        run = CyclicSearch(tiny.config(search={"epochs": 2, **search}), search_template=s_t, eval_template=e_t,
                           cells=tiny.cells("darts", "V2"), data=tiny.data(n=48, test=16))
        run.run()
        return [a.detach().clone() for a in run.alpha], {k: v.clone() for k, v in run.search_net.state_dict().items()}

    a0, w0 = final(test_every=0)
    for options in ({"test_bn": "recalibrate"}, {"test_bn": "running"}):
        a, w = final(**options)
        assert all(torch.equal(x, y) for x, y in zip(a0, a))
        assert all(torch.equal(w0[k], w[k]) for k in w0)
