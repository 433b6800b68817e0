"""The runtime's seam to the module builders: build S and E, share modules, read α.

Kept in one place so the training loops never reach into a network's attributes directly.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import Tensor, nn

from genolang.compiler.lower.ir import CellSpec, Genotype, NetworkTemplate
from genolang.base.errors import ConfigError
from genolang.runtime.search.constants import constant

__all__ = ["build_search_net", "build_eval_net", "share_stem_heads", "alpha_layout", "regularizer_loss",
           "REGULARISED_OPS"]


def build_search_net(template: NetworkTemplate, cells: Mapping[str, CellSpec],
                     generator: torch.Generator | None = None, edge_weights: str = "none",
                     memory: str = "plain") -> nn.Module:
    from genolang.compiler.build import SearchNetwork

    return SearchNetwork(template, cells, generator=generator, edge_weights=edge_weights, memory=memory)


def build_eval_net(template: NetworkTemplate, genotype: Genotype, *, phase: str, affine: bool) -> nn.Module:
    """The discrete network of ``genotype``; a genotype with macro choices (hierarchical
    search) gets the macro network those choices describe, at their depth."""
    if genotype.macro is not None:
        from genolang.compiler.build.macro import MacroEvalNetworkV1, MacroEvalNetworkV2

        macro = genotype.macro
        if macro.version == 1:
            return MacroEvalNetworkV1(template, genotype, depth=len(macro.skips) or None, phase=phase, affine=affine)
        return MacroEvalNetworkV2(template, genotype, depth=len(macro.types) or None, phase=phase, affine=affine)
    from genolang.compiler.build import EvalNetwork

    return EvalNetwork(template, genotype, phase=phase, affine=affine)


def share_stem_heads(search_net: nn.Module, eval_net: nn.Module) -> None:
    """Make E use S's stem and distill heads (the CDARTS set-up, A5): the same module
    objects, so both SGD optimisers update them."""
    for name in ("stem", "distill_heads"):
        mine, theirs = getattr(search_net, name), getattr(eval_net, name)
        shapes = lambda m: [tuple(t.shape) for t in m.state_dict().values()]
        if shapes(mine) != shapes(theirs):
            raise ConfigError(f"share_stem_heads: the search and evaluation networks' `{name}` differ "
                              "in shape", hint="use the same channels and head positions in both "
                                               "templates, or set algorithm.share_stem_heads = false")
        setattr(eval_net, name, mine)


Layout = dict[str, tuple[list[Tensor], list[list[str]], int, bool]]


def alpha_layout(search_net: nn.Module, template: NetworkTemplate,
                 cells: Mapping[str, CellSpec]) -> Callable[[], Layout]:
    """A function returning, per cell type, (α per node, op labels per node, number of cells
    of that type in S, node-level softmax?), the input of :func:`expected_latency`."""
    from genolang.compiler.build.ops import candidate_ops

    specs: Mapping[str, CellSpec] = search_net.cell_specs
    counts = {key: sum(1 for row in search_net.plan.cells if row.key == key) for key in specs}
    labels = {key: [[label for label, _ in candidate_ops(cell, node)] for node in cell.nodes]
              for key, cell in specs.items()}

    def layout() -> Layout:
        out: Layout = {}
        for key, cell in specs.items():
            alphas = search_net.alpha(key)
            out[key] = ([alphas[n] for n in cell.nodes], labels[key], counts[key], cell.select.node_softmax)
        return out

    return layout


# NNI's regulariser: L1 on the α of pools, identity and dilated convs (A25).
REGULARISED_OPS = ("pool", "skip", "identity", "dil_conv")


def regularizer_loss(layout: Layout) -> Tensor:
    total = None
    for alphas, labels, _count, _node in layout.values():
        for alpha, names in zip(alphas, labels):
            mask = constant(tuple(any(k in n for k in REGULARISED_OPS) for n in names), alpha)
            term = (alpha.abs() * mask).sum()
            total = term if total is None else total + term
    return total if total is not None else torch.zeros(())
