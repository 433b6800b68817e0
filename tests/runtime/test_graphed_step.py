"""The schedule around a CUDA graph (runtime/search/graphed_step.py), on the CPU: the graph's three
CUDA calls are replaced by their meaning (a warm-up step runs, a capture runs nothing, a
replay runs the captured step on the static inputs). A graphed epoch must then train exactly
as the eager one: same α, same weights, same metrics."""

from __future__ import annotations


import torch

import tiny

from genolang.runtime.search.graphed_step import WARMUP, GraphedStep
from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.loop import CyclicSearch


class CpuGraph(GraphedStep):
    captures = replays = 0

    def _on_side_stream(self, fn):
        fn()

    def _capture(self, fn):
        self.captures += 1
        self.graphed = fn          # a capture records the kernels; it runs none of them

    def _replay(self):
        self.replays += 1
        self.graphed()


def steps(graphed: bool, n: int = WARMUP + 2):
    s_t, e_t = tiny.templates()
    s = CyclicSearch(tiny.config(), search_template=s_t, eval_template=e_t,
                     cells=tiny.cells(), data=tiny.data(n=64))
    s.regenerate_eval_net(0.05)
    meter, d = Meter(), s.data
    step = CpuGraph(s.cyclic_step) if graphed else s.cyclic_step
    for i in range(n):
        b = slice(4 * i, 4 * i + 4)
        step(d.train_x[b], d.train_y[b], d.val_x[b], d.val_y[b], meter)
    return s, meter.means(), step


def test_a_graphed_epoch_trains_as_the_eager_one():
    eager, eager_means, _ = steps(False)
    graphed, graphed_means, step = steps(True)
    assert (step.captures, step.replays) == (1, 2)
    for a, b in zip(eager.alpha, graphed.alpha):
        assert torch.equal(a, b)
    for a, b in zip(eager.search_net.parameters(), graphed.search_net.parameters()):
        assert torch.equal(a, b)
    assert graphed_means == eager_means
