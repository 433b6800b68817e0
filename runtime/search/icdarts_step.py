"""ICDARTS's cyclic step (Algorithm 1, step 3) over an explicit state, for every route:

(1) α  ← Adam on CE_S(val) + λ·KD(val) [+ the α regularisers], E's logits detached
    (with ``we_split = val``, w_E ← SGD on CE_E(val) [+ λ·KD(val)] from the same forward);
(2) w_S ← SGD on CE_S(train) [+ λ·KD(train)];
(3) w_E ← SGD on CE_E(train) [+ λ·KD(train) with gradient into E] (``we_split = train``).

Which bracketed terms and splits apply is the route (:class:`~.losses.Route`, Table 3.6).
Every backward names what it differentiates (``backward(inputs=...)``) and every forward
freezes the groups whose graph is not wanted (:func:`.grads.frozen`). The step reads nothing
back to the host, so it can be captured in a CUDA graph (:mod:`.graphed_step`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.distributed import average_gradients
from genolang.runtime.search.grads import clip, frozen, zero
from genolang.runtime.search.joint_state import JointState
from genolang.runtime.search.losses import objectives

__all__ = ["icdarts_step"]


def _arch_and_eval_on_val(s: JointState, x_v: Tensor, y_v: Tensor, meter: Meter) -> None:
    """(1): α on the val batch; E is the teacher, detached in the α objective (and trained
    on this batch too when the route says ``we_split = val``)."""
    eval_on_val = s.route.we_split == "val"
    with frozen(s.w_search):
        s_v = s.S(x_v)
    with torch.set_grad_enabled(eval_on_val):
        e_v = s.E(x_v)
    obj_v = objectives(s.route, s_val=s_v, e_val=e_v, y_val=y_v)
    loss_alpha = obj_v.alpha
    extra = s.penalty()
    if extra is not None:
        loss_alpha = loss_alpha + extra
    zero(s.arch)
    if eval_on_val:
        zero(s.w_eval)
        if s.shared:  # the shared stem is in both graphs: two passes over one graph
            loss_alpha.backward(inputs=s.arch, retain_graph=True)
            obj_v.w_eval.backward(inputs=s.w_eval)
        else:         # disjoint parameter sets: one pass gives both gradients
            (loss_alpha + obj_v.w_eval).backward(inputs=s.arch + s.w_eval)
        clip(s.w_eval, s.grad_clip)
        s.opt_e.step()
        meter.add("loss_E", obj_v.w_eval)
        meter.add_correct("acc_E", e_v.logits, y_v)
    else:
        loss_alpha.backward(inputs=s.arch)
    average_gradients(s.arch)
    s.opt_arch.step()
    meter.add(s.arch_loss, obj_v.alpha)


def _weights_on_train(s: JointState, x_t: Tensor, y_t: Tensor, meter: Meter) -> None:
    """(2) w_S and (3) w_E on the train batch."""
    route, S, E, max_norm = s.route, s.S, s.E, s.grad_clip
    with frozen(s.arch):
        s_t = S(x_t)
    e_t = None
    eval_on_train = route.we_split == "train"
    joint = eval_on_train and not s.shared
    if route.ws_kd or joint:   # E as the teacher of w_S, and/or trained on this batch
        with torch.set_grad_enabled(joint):
            e_t = E(x_t)
    obj_t = objectives(route, s_train=s_t, e_train=e_t, y_train=y_t)
    zero(s.w_search)
    if joint:
        zero(s.w_eval)
        (obj_t.w_search + obj_t.w_eval).backward(inputs=s.w_search + s.w_eval)
        clip(s.w_search, max_norm)
        clip(s.w_eval, max_norm)
        s.opt_w.step()
        s.opt_e.step()
    else:
        obj_t.w_search.backward(inputs=s.w_search)
        clip(s.w_search, max_norm)
        s.opt_w.step()
        if eval_on_train:
            # Shared modules changed in place by the w_S step: recompute E (§4.1.3 note).
            e_t = E(x_t)
            loss_e = objectives(route, s_train=s_t, e_train=e_t, y_train=y_t).w_eval
            zero(s.w_eval)
            loss_e.backward(inputs=s.w_eval)
            clip(s.w_eval, max_norm)
            s.opt_e.step()
            obj_t.w_eval = loss_e
    meter.add("loss_S", obj_t.w_search)
    meter.add_correct("acc_S", s_t.logits, y_t)
    if eval_on_train:
        meter.add("loss_E", obj_t.w_eval)
        meter.add_correct("acc_E", e_t.logits, y_t)


def icdarts_step(s: JointState, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter) -> None:
    """One architecture step, one w_S step and one w_E step (module docstring)."""
    _arch_and_eval_on_val(s, x_v, y_v, meter)
    _weights_on_train(s, x_t, y_t, meter)
