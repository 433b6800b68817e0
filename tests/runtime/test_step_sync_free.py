"""The cyclic step is capturable: no host synchronisation inside it (no ``.item()``, no
``float(tensor)``, no Python branch on a tensor's value, no tensor made from Python data after
its first call), on every algorithm and route.

On the CPU nothing synchronises, so the test makes every such read raise when genolang code
makes it (torch's own bookkeeping, e.g. Adam's CPU step counter, is torch's business and is
on the device with ``capturable=True`` where graphs need it). The meter of the step is the
device-side one an accelerator uses (``eager=False``): metrics are read once per epoch.
"""

from __future__ import annotations

import sys

import pytest
import torch

import tiny

from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.loop import CyclicSearch

READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")


class HostSync(AssertionError):
    pass


# Tensors made from Python data: a blocking host-to-device copy on a GPU (and a capture error
# in a CUDA graph); the step makes its constants once, in its first (warm-up) call.
MADE = ((torch.Tensor, "new_tensor"), (torch, "tensor"), (torch, "as_tensor"))


def _guard(owner, name: str, monkeypatch) -> None:
    original = getattr(owner, name)

    def guarded(*args, **kwargs):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("genolang"):
            raise HostSync(f"{name} called from {caller}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, guarded)


def forbid_host_reads(monkeypatch):
    """Make every host read of a tensor's value, and every tensor made from host data, raise
    :class:`HostSync` when genolang code does it."""
    for name in READS:
        _guard(torch.Tensor, name, monkeypatch)
    for owner, name in MADE:
        _guard(owner, name, monkeypatch)


def searcher(**algorithm):
    s_t, e_t = tiny.templates()
    s = CyclicSearch(tiny.config(algorithm=algorithm), search_template=s_t, eval_template=e_t, cells=tiny.cells(),
                     data=tiny.data())
    s.regenerate_eval_net(0.05)
    return s


@pytest.mark.parametrize("algorithm", [{"name": "icdarts"},
                                       {"name": "icdarts", "route": "A2", "share_stem_heads": True,
                                        "latency_delta": 0.1, "regular_coeff": 0.1},
                                       {"name": "cdarts"}],
                         ids=["icdarts", "A2-shared-latency", "cdarts"])
def test_cyclic_step_reads_nothing_back(algorithm, monkeypatch):
    s = searcher(**algorithm)
    d = s.data
    meter = Meter(eager=False)
    weight = s._regular_weight(0)
    s.cyclic_step(d.train_x[8:], d.train_y[8:], d.val_x[8:], d.val_y[8:], meter, weight)   # the warm-up step
    forbid_host_reads(monkeypatch)
    s.cyclic_step(d.train_x[:8], d.train_y[:8], d.val_x[:8], d.val_y[:8], meter, weight)
    monkeypatch.undo()
    assert set(meter.means()) >= {"loss_alpha", "loss_S", "acc_S"}


def test_the_guard_catches_a_read(monkeypatch):
    forbid_host_reads(monkeypatch)
    with pytest.raises(HostSync):
        Meter(eager=True).add("loss", torch.tensor(1.0))


def test_the_graph_recorder_hands_each_replay_to_the_epoch_meter():
    """The captured step's meter keeps the latest values (which each replay overwrites) and
    adds them to the epoch's meter after every replay: same means as a plain meter."""
    from genolang.runtime.search.graphed_step import Recorder

    plain, epoch, recorder = Meter(), Meter(), Recorder()
    for loss, logits, y in [(1.0, [[2.0, 0.0]], [0]), (3.0, [[0.0, 1.0]], [0])]:
        for m in (plain, recorder):
            m.add("loss", torch.tensor(loss))
            m.add_correct("acc", torch.tensor(logits), torch.tensor(y))
        recorder.into(epoch)
    assert epoch.means() == plain.means() == {"loss": 2.0, "acc": 0.5}
