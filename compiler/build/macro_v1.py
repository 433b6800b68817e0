"""Version 1 of the macro networks: a searched skip connection into each cell's second input
(:class:`MacroSearchNetworkV1`) and the network of the chosen skips (:class:`MacroEvalNetworkV1`);
:mod:`.macro` describes both versions."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from genolang.base.errors import CompileError
from genolang.compiler.build.cells import Cell, NetOutput
from genolang.compiler.build.discrete import DropRate
from genolang.compiler.build.macro_parts import (MacroBase, SkipAlign, halvings, macro_template, phase_cells,
                                                 skip_sources, source_key)
from genolang.compiler.lower.ir import Genotype, MacroChoice, NetworkTemplate
from genolang.compiler.passes.shapes import plan_network

__all__ = ["MacroSearchNetworkV1", "MacroEvalNetworkV1"]


class _V1Network(MacroBase):
    """Discrete cells whose second input is a (weighted) set of aligned earlier outputs."""

    def __init__(self, template: NetworkTemplate, genotype: Genotype, sources: Sequence[Sequence[int]], *,
                 depth: int | None, affine: bool, phase: str, trainable_ensemble: bool, drop_path: float):
        super().__init__()
        t = macro_template(template, depth)
        plan = plan_network(t, phase_cells(genotype, phase))
        self._rate = DropRate(drop_path)
        self._init_common(plan, genotype, affine=affine, phase=phase, trainable_ensemble=trainable_ensemble)
        builder = self._node_builder(affine)
        cells = []
        for row in plan.cells:
            cell = Cell(row, builder, affine)
            cell.pre0 = nn.Identity()        # the per-source alignment replaces it
            cells.append(cell)
        self.cells = nn.ModuleList(cells)
        out_shape = [(plan.stem_channels, plan.stem_hw)] + [(r.c_out, r.hw_out) for r in plan.cells]
        self.skip_pre = nn.ModuleList()
        self._skip_plan: list[list[tuple[int, nn.Module]]] = []
        for k, (row, srcs) in enumerate(zip(plan.cells, sources)):
            aligned = nn.ModuleDict()
            run = []
            for m in srcs:
                if m not in skip_sources(k):
                    raise CompileError(f"cell {k} cannot take its skip input from {m}",
                                       hint=f"cell {k} can read " + ", ".join(map(str, skip_sources(k))))
                c_m, hw_m = out_shape[m + 1]
                gaps = halvings(hw_m, row.hw_p, f"skip {source_key(m)} -> cell {k}", template.span)
                aligned[source_key(m)] = SkipAlign(c_m, gaps, row.c_cur, affine)
                run.append((m + 1, aligned[source_key(m)]))
            self.skip_pre.append(aligned)
            self._skip_plan.append(run)
        self._cell_list = list(self.cells)

    def skip_weights(self) -> list[torch.Tensor | None]:
        return [None] * len(self._cell_list)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor | None] | None = None) -> NetOutput:
        """``weights[k]`` (over cell ``k``'s candidates, or None for a single one) override γ."""
        weights = self.skip_weights() if weights is None else weights
        s = self.stem(x)
        outs = [s]
        side: list[torch.Tensor] = []
        aux = None
        for k, cell in enumerate(self._cell_list):
            run, w = self._skip_plan[k], weights[k]
            if w is None:
                if len(run) != 1:
                    raise ValueError(f"cell {k} has {len(run)} skip candidates and no weights")
                skip = run[0][1](outs[run[0][0]])
            else:
                skip = None
                for (index, align), wi in zip(run, w.unbind(0)):
                    y = align(outs[index])
                    skip = wi * y if skip is None else torch.addcmul(skip, wi, y)
            s = cell(skip, s)
            outs.append(s)
            aux = self._side(k, s, side, aux)
        return self._output(s, side, aux)


class MacroSearchNetworkV1(_V1Network):
    """Version-1 macro supernet: every cell's second input searched over all earlier outputs.

    Example:
        >>> net = MacroSearchNetworkV1(template, genotype, depth=20, beta=1.0)
        >>> out = net(images)                 # NetOutput(logits, ensemble, aux)
        >>> net.choice()                      # MacroChoice(version=1, skips=(-1, -1, 0, …))
    """

    version = 1

    def __init__(self, template: NetworkTemplate, genotype: Genotype, *, depth: int | None = None,
                 beta: float = 1.0, generator: torch.Generator | None = None, affine: bool = False,
                 phase: str = "eval", trainable_ensemble: bool = False):
        n = len(macro_template(template, depth).slots)
        super().__init__(template, genotype, [skip_sources(k) for k in range(n)], depth=depth, affine=affine,
                         phase=phase, trainable_ensemble=trainable_ensemble, drop_path=0.0)
        self.beta = beta
        self.gamma = nn.ParameterDict()
        for k in range(2, n):
            m = torch.arange(-1, k - 1, dtype=torch.float32)
            init = -beta * (k - 2 - m) + 1e-3 * torch.randn(k, generator=generator)
            self.gamma[str(k)] = nn.Parameter(init)

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.gamma.parameters())

    def gammas(self) -> list[torch.Tensor | None]:
        """γ of every cell (None for cells 0 and 1, which have one candidate)."""
        return [self.gamma[str(k)] if str(k) in self.gamma else None for k in range(len(self._cell_list))]

    def skip_weights(self) -> list[torch.Tensor | None]:
        return [None if g is None else torch.softmax(g, dim=0) for g in self.gammas()]

    def hard_weights(self, skips: MacroChoice | Sequence[int]) -> list[torch.Tensor | None]:
        """0/1 weights selecting one source per cell: the supernet then computes exactly
        :class:`MacroEvalNetworkV1` with the same weights."""
        skips = _skips_of(skips, len(self._cell_list))
        out = []
        for k, g in enumerate(self.gammas()):
            if g is None:
                out.append(None)
                continue
            w = torch.zeros_like(g.detach())
            w[skip_sources(k).index(skips[k])] = 1.0
            out.append(w)
        return out

    def choice(self) -> MacroChoice:
        from genolang.compiler.genotype.derive_macro import choice_v1

        return choice_v1([None if g is None else g.detach() for g in self.gammas()])


def _skips_of(skips: MacroChoice | Sequence[int], n: int) -> tuple[int, ...]:
    if isinstance(skips, MacroChoice):
        if skips.version != 1:
            raise CompileError(f"a version-1 network needs a version-1 macro choice, got version {skips.version}")
        skips = skips.skips
    skips = tuple(int(s) for s in skips)
    if len(skips) != n:
        raise CompileError(f"the macro choice lists {len(skips)} skip sources; the network has {n} cells",
                           hint="one entry per cell, -1 for the stem")
    for k, m in enumerate(skips):
        if m not in skip_sources(k):
            raise CompileError(f"cell {k} cannot take its skip input from {m}",
                               hint=f"cell {k} can read " + ", ".join(map(str, skip_sources(k))))
    return skips


class MacroEvalNetworkV1(_V1Network):
    """Version-1 discrete macro network: ``c_{k-1}`` plus the single chosen skip ``skips[k]``."""

    version = 1

    def __init__(self, template: NetworkTemplate, genotype: Genotype, skips: MacroChoice | Sequence[int] | None = None,
                 *, depth: int | None = None, affine: bool = True, phase: str = "eval",
                 trainable_ensemble: bool = False, drop_path: float | None = None):
        t = macro_template(template, depth)
        if skips is None:
            skips = genotype.macro if genotype.macro is not None else [max(k - 2, -1) for k in range(len(t.slots))]
        skips = _skips_of(skips, len(t.slots))
        super().__init__(template, genotype, [(m,) for m in skips], depth=depth, affine=affine, phase=phase,
                         trainable_ensemble=trainable_ensemble,
                         drop_path=t.drop_path if drop_path is None else drop_path)
        self.skips = skips
        self.choice_ = MacroChoice(1, skips=skips)
