"""Recompute a mixed node's candidate outputs in the backward instead of saving them.

The supernet's memory is the saved activations of every candidate op of every edge (about
20 tensors the size of a node's output per edge in the DARTS space). :func:`recomputed`
runs a node's forward without a graph, saves only its inputs and weights, and runs the
forward again inside the backward to get the gradients; a step then holds one node's
graph at a time instead of the whole supernet's.

The result is the plain forward's, to the bit, because the second forward sees exactly
what the first one saw:

* BatchNorm in training mode normalises with the batch statistics of its input, which is
  the same tensor; its running statistics are updated by the first forward only (the
  second runs with ``track_running_stats`` off, which uses batch statistics and leaves the
  buffers and ``num_batches_tracked`` alone);
* ops that draw random numbers (the ``random`` op of zero configurations V2-V4) draw the
  same numbers: the generator's state is saved before the first forward and replayed, in
  a fork, for the second, so the generator's own sequence is not disturbed;
* gradients go only to what needed them when the forward ran (``needs_input_grad``), as
  in the plain graph: a frozen weight (the α step freezes w_S) gets none, and nothing is
  accumulated behind the caller's back (``backward(inputs=...)`` keeps working).

Not differentiable twice (no second-order DARTS through a recomputed node).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

__all__ = ["recomputed"]

Forward = Callable[[Sequence[torch.Tensor], torch.Tensor], torch.Tensor]


def recomputed(forward: Forward, states: Sequence[torch.Tensor], weights: torch.Tensor,
               module: nn.Module, replay_rng: bool) -> torch.Tensor:
    """``forward(states, weights)``, with the activations of ``module`` (whose parameters
    and BatchNorms ``forward`` uses) recomputed in the backward."""
    params = list(module.parameters())
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return _Recomputed.apply(forward, bns, replay_rng, len(states), *states, weights, *params)


class _Recomputed(torch.autograd.Function):
    @staticmethod
    def forward(ctx, forward: Forward, bns: list, replay_rng: bool, n_states: int, *inputs: torch.Tensor):
        states, weights = inputs[:n_states], inputs[n_states]
        ctx.forward, ctx.bns, ctx.n_states = forward, bns, n_states
        ctx.params = inputs[n_states + 1:]
        ctx.rng = _rng_state(states[0].device) if replay_rng else None
        ctx.save_for_backward(*states, weights)
        return forward(states, weights)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        saved = ctx.saved_tensors
        needs = ctx.needs_input_grad[4:]
        # fresh leaves: the recomputed graph ends here, not in the caller's graph
        leaves = [t.detach().requires_grad_(need) for t, need in zip(saved, needs)]
        inputs = leaves + list(ctx.params)
        unneeded = [p for p, need in zip(ctx.params, needs[len(leaves):]) if not need and p.requires_grad]
        with torch.enable_grad(), _batch_stats_only(ctx.bns), _replayed_rng(leaves[0].device, ctx.rng), \
                _frozen(unneeded):
            out = ctx.forward(leaves[:ctx.n_states], leaves[ctx.n_states])
        wanted = [t for t, need in zip(inputs, needs) if need]
        grads = iter(torch.autograd.grad(out, wanted, grad, allow_unused=True)) if wanted else iter(())
        return (None, None, None, None, *[next(grads) if need else None for need in needs])


@contextlib.contextmanager
def _frozen(params: list) -> Iterator[None]:
    """Parameters frozen when the forward ran (the α step freezes w_S) are frozen again for
    the recomputation, so it builds no graph towards them."""
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@contextlib.contextmanager
def _batch_stats_only(bns: list) -> Iterator[None]:
    """BatchNorms normalise with batch statistics and leave their running statistics alone
    (only for those in training mode: evaluation mode reads the running statistics)."""
    changed = [bn for bn in bns if bn.training and bn.track_running_stats]
    for bn in changed:
        bn.track_running_stats = False
    try:
        yield
    finally:
        for bn in changed:
            bn.track_running_stats = True


def _rng_state(device: torch.device) -> torch.Tensor:
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


@contextlib.contextmanager
def _replayed_rng(device: torch.device, state: torch.Tensor | None) -> Iterator[None]:
    if state is None:
        yield
        return
    cuda = device.type == "cuda"
    with torch.random.fork_rng(devices=[device] if cuda else [], device_type=device.type):
        if cuda:
            torch.cuda.set_rng_state(state, device)
        else:
            torch.set_rng_state(state)
        yield
