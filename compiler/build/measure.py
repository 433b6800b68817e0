"""Summaries measured on built modules (torch): the reference :mod:`.summary` is checked against.

* parameters: ``net.parameters()``, without and with the side heads (names ``aux_head.``,
  ``distill_heads.``), α apart;
* multiply-adds of one image on the inference path, counted by forward hooks on every
  ``Conv2d`` and ``Linear`` outside the side heads;
* activation memory of a training step at batch ``B``: the bytes of every distinct tensor
  autograd saves for the backward pass in one training-mode forward (parameters excluded),
  measured at :func:`~genolang.compiler.passes.summary.probe_batch` ``(B)`` images and scaled
  linearly in ``B``.

``geno compile --summary`` computes the same figures from the shape plan without torch
(:mod:`.cost`); this module measures them, for the tests and for primitives registered with
their own builders, which have no cost rule.
"""

from __future__ import annotations

from typing import Mapping, Union

import torch
from torch import nn

from genolang.compiler.lower.ir import CellSpec, GenoCell, Genotype, NetworkTemplate
from genolang.compiler.passes.summary import SIDE_HEADS, NetworkSummary, probe_batch, shape_summary

__all__ = ["build_network", "measure_network", "summarize", "count_mult_adds", "activation_bytes"]


def build_network(template: NetworkTemplate, cells_or_genotype: Union[Genotype, Mapping[str, CellSpec]],
                  *, phase: str = "retrain") -> nn.Module:
    """The discrete network of a genotype, or the supernet of search cells."""
    from genolang.compiler.build import EvalNetwork, SearchNetwork

    if isinstance(cells_or_genotype, Genotype):
        return EvalNetwork(template, cells_or_genotype, phase=phase)
    if all(isinstance(c, GenoCell) for c in cells_or_genotype.values()):
        genotype = Genotype("cells", tuple(cells_or_genotype.items()))
        return EvalNetwork(template, genotype, phase=phase)
    return SearchNetwork(template, cells_or_genotype, generator=torch.Generator().manual_seed(0))


def _is_side(name: str) -> bool:
    return name.startswith(SIDE_HEADS)


def count_mult_adds(net: nn.Module, example: torch.Tensor) -> int:
    """Multiply-adds of one forward pass per image (Conv2d and Linear outside side heads)."""
    total = 0

    def conv_hook(module: nn.Conv2d, inputs, output) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    def linear_hook(module: nn.Linear, inputs, output) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    handles = []
    for name, module in net.named_modules():
        if _is_side(name + "."):
            continue
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(example)
    finally:
        net.train(was_training)
        for handle in handles:
            handle.remove()
    return total // example.shape[0]


def activation_bytes(net: nn.Module, example: torch.Tensor) -> int:
    """Bytes of the distinct non-parameter tensors autograd saves in one training forward."""
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    seen: set[int] = set()
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key not in params and key not in seen:
            seen.add(key)
            total += storage.nbytes()
        return tensor

    was_training = net.training
    try:
        net.train()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            net(example)
    finally:
        net.train(was_training)
    return total


def summarize(template: NetworkTemplate, cells_or_genotype: Union[Genotype, Mapping[str, CellSpec]], *,
              batch: int = 1, phase: str = "retrain", activations: bool = True) -> NetworkSummary:
    """A network's summary: from its shapes where the cost model counts it exactly
    (:func:`~genolang.compiler.passes.summary.shape_summary`, no modules built), else built and
    measured (a primitive with its own module builder)."""
    options = dict(batch=batch, phase=phase, activations=activations)
    return shape_summary(template, cells_or_genotype, **options) or measure_network(template, cells_or_genotype, **options)


def measure_network(template: NetworkTemplate, cells_or_genotype: Union[Genotype, Mapping[str, CellSpec]], *,
                    batch: int = 1, phase: str = "retrain", activations: bool = True) -> NetworkSummary:
    """Build a network and measure what :func:`~genolang.compiler.passes.summary.shape_summary` computes
    from its shapes (see the module docstring).

    Example:
        >>> measure_network(retrain_template, darts_v2, batch=96).params
        3349342
    """
    net = build_network(template, cells_or_genotype, phase=phase)
    arch = {id(p) for p in getattr(net, "arch_parameters", lambda: [])()}
    weights = [(n, p) for n, p in net.named_parameters() if id(p) not in arch]
    params_with_heads = sum(p.numel() for _, p in weights)
    params = sum(p.numel() for n, p in weights if not _is_side(n))
    example = torch.randn(1, *template.input_shape)
    mult_adds = count_mult_adds(net, example)
    act = 0
    if activations:
        probe = probe_batch(batch)
        act = activation_bytes(net, torch.randn(probe, *template.input_shape)) * batch // probe
    kind = "search" if arch else "discrete"
    return NetworkSummary(template.name, kind, params, params_with_heads, sum(p.numel() for p in net.parameters()
                                                                                if id(p) in arch),
                          mult_adds, batch, act, net.plan)
