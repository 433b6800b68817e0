"""The CDARTS baseline's joint step as the official code makes it (``search_function.search``
of Cream's CDARTS), over an explicit state, with its gradient bookkeeping: gradients
accumulate in ``.grad`` and are zeroed only where Cream zeroes them, and each clip runs over
every parameter, so stale gradients enter the clip norm exactly as they do there
(tests/runtime/test_cdarts_fidelity.py compares it with a transcription of that code).

1. zero α, E (and the shared modules); ``(CE_S + CE_E)/λ + λ·KD`` on val, E not detached;
   one backward into everything; clip all; step E's SGD and α's Adam.
2. zero S (and the shared modules); ``CE_S(train)``; backward; clip all; step S's SGD.

:func:`cream_update` is one such update; the loop's pre-training and warm-up use it too when
the update scheme is Cream's.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.distributed import average_gradients
from genolang.runtime.search.grads import zero
from genolang.runtime.search.joint_state import JointState
from genolang.runtime.search.losses import cream_objective

__all__ = ["cream_step", "cream_update"]


def cream_update(loss: Tensor, owned: list[nn.Parameter], everything: list[nn.Parameter], max_norm: float,
                 optimisers: list[torch.optim.Optimizer]) -> None:
    """One update as the official CDARTS code makes it: zero the stepped groups' gradients
    (``optimizer.zero_grad()``), backward into every parameter (gradients of the others
    accumulate, as ``loss.backward()`` does there), clip over every parameter
    (``clip_grad_norm_(controller.parameters())``), step."""
    zero(owned)
    loss.backward(inputs=everything)
    average_gradients(everything)
    grads = [p for p in everything if p.grad is not None]
    if grads:
        nn.utils.clip_grad_norm_(grads, max_norm, foreach=True)
    for opt in optimisers:
        opt.step()


def cream_step(s: JointState, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter) -> None:
    """One joint step (module docstring)."""
    S, E, route = s.S, s.E, s.route
    everything = s.everything()
    s_v, e_v = S(x_v), E(x_v)
    loss = cream_objective(route, s_v, e_v, y_v)
    extra = s.penalty()
    if extra is not None:
        loss = loss + extra
    cream_update(loss, s.arch + s.w_eval, everything, s.grad_clip, [s.opt_e, s.opt_arch])
    meter.add(s.arch_loss, loss)
    meter.add("loss_E", loss)
    meter.add_correct("acc_E", e_v.logits, y_v)
    s_t = S(x_t)
    loss_s = nn.functional.cross_entropy(s_t.logits, y_t)
    cream_update(loss_s, s.w_search, everything, s.grad_clip, [s.opt_w])
    meter.add("loss_S", loss_s)
    meter.add_correct("acc_S", s_t.logits, y_t)
