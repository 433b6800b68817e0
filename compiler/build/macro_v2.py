"""Version 2 of the macro networks: a searched cell type at each depth
(:class:`MacroSearchNetworkV2`) and the network of the chosen types (:class:`MacroEvalNetworkV2`);
:mod:`.macro` describes both versions."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch
from torch import nn

from genolang.base.errors import CompileError, did_you_mean
from genolang.compiler.build.cells import Cell, NetOutput
from genolang.compiler.build.discrete import DropRate
from genolang.compiler.build.macro_parts import MacroBase, macro_template, phase_cells
from genolang.compiler.lower.ir import Genotype, MacroChoice, NetworkTemplate, Slot
from genolang.compiler.passes.shapes import NetworkPlan, plan_network

__all__ = ["MacroSearchNetworkV2", "MacroEvalNetworkV2"]


def _types_of(types: MacroChoice | Sequence[str], version_ok: int = 2) -> tuple[str, ...]:
    if isinstance(types, MacroChoice):
        if types.version != version_ok:
            raise CompileError(f"a version-2 network needs a version-2 macro choice, got version {types.version}")
        types = types.types
    return tuple(types)


class _V2Network(MacroBase):
    def __init__(self, template: NetworkTemplate, genotype: Genotype, per_depth: Sequence[Sequence[str]], *,
                 depth: int | None, affine: bool, phase: str, trainable_ensemble: bool, drop_path: float):
        super().__init__()
        t = macro_template(template, depth)
        if len(per_depth) != len(t.slots):
            raise CompileError(f"the macro choice lists {len(per_depth)} cell types; the network has "
                               f"{len(t.slots)} depths", hint="one type per depth")
        cells = phase_cells(genotype, phase)
        types = list(dict.fromkeys(ty for row in per_depth for ty in row))
        plans: dict[str, NetworkPlan] = {}
        for ty in types:
            if ty not in cells and not any(key.endswith("." + ty) for key in cells):
                raise CompileError(f"genotype `{genotype.name}` has no cell type `{ty}`", genotype.span,
                                   hint=did_you_mean(ty, cells) or "cell types: " + ", ".join(cells))
            if any(cell.reduction for key, cell in cells.items() if key == ty or key.endswith("." + ty)):
                raise CompileError(f"cell type `{ty}` is a reduction cell; version-2 types are normal cells "
                                   "(reduction positions run them with stride 2)", genotype.span)
            typed = dataclasses.replace(t, slots=tuple(Slot(ty, None, s.reduction) for s in t.slots))
            plans[ty] = plan_network(typed, cells)
        first = plans[types[0]]
        for ty, plan in plans.items():
            if [r.c_out for r in plan.cells] != [r.c_out for r in first.cells]:
                raise CompileError(f"cell types `{types[0]}` and `{ty}` output different widths; "
                                   "version 2 adds their outputs", genotype.span,
                                   hint="give every type the same number of output states")
        self._rate = DropRate(drop_path)
        self._init_common(first, genotype, affine=affine, phase=phase, trainable_ensemble=trainable_ensemble)
        builder = self._node_builder(affine)
        self.cells = nn.ModuleList(
            nn.ModuleDict({ty: Cell(plans[ty].cells[d], builder, affine) for ty in row})
            for d, row in enumerate(per_depth))
        self._branches = [list(block.values()) for block in self.cells]
        self.types_per_depth = tuple(tuple(row) for row in per_depth)

    def type_weights(self) -> torch.Tensor | None:
        return None

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> NetOutput:
        """``weights`` (depth × types) override softmax(γ)."""
        weights = self.type_weights() if weights is None else weights
        s0 = s1 = self.stem(x)
        side: list[torch.Tensor] = []
        aux = None
        for d, branches in enumerate(self._branches):
            if weights is None:
                out = branches[0](s0, s1)
            else:
                out = None
                for cell, w in zip(branches, weights[d].unbind(0)):
                    y = cell(s0, s1)
                    out = w * y if out is None else torch.addcmul(out, w, y)
            s0, s1 = s1, out
            aux = self._side(d, s1, side, aux)
        return self._output(s1, side, aux)


class MacroSearchNetworkV2(_V2Network):
    """Version-2 macro supernet: every type of ``types`` at every depth, mixed by softmax(γ_d).

    Example:
        >>> net = MacroSearchNetworkV2(template, genotype, ("a", "b", "c", "d"), depth=20)
        >>> net.choice()                      # MacroChoice(version=2, types=("b", "a", …))
    """

    version = 2

    def __init__(self, template: NetworkTemplate, genotype: Genotype, types: Sequence[str], *,
                 depth: int | None = None, generator: torch.Generator | None = None, affine: bool = False,
                 phase: str = "eval", trainable_ensemble: bool = False):
        types = tuple(types)
        if len(types) < 1 or len(set(types)) != len(types):
            raise CompileError(f"version 2 needs distinct cell types, got {', '.join(types) or 'none'}")
        n = len(macro_template(template, depth).slots)
        super().__init__(template, genotype, [types] * n, depth=depth, affine=affine, phase=phase,
                         trainable_ensemble=trainable_ensemble, drop_path=0.0)
        self.types = types
        self.gamma = nn.Parameter(1e-3 * torch.randn(n, len(types), generator=generator))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.gamma]

    def type_weights(self) -> torch.Tensor:
        return torch.softmax(self.gamma, dim=-1)

    def hard_weights(self, types_per_depth: MacroChoice | Sequence[str]) -> torch.Tensor:
        chosen = _types_of(types_per_depth)
        if len(chosen) != len(self._branches):
            raise CompileError(f"the macro choice lists {len(chosen)} types; the network has "
                               f"{len(self._branches)} depths")
        w = torch.zeros_like(self.gamma.detach())
        for d, ty in enumerate(chosen):
            if ty not in self.types:
                raise CompileError(f"`{ty}` is not one of the searched types", hint=did_you_mean(ty, self.types))
            w[d, self.types.index(ty)] = 1.0
        return w

    def choice(self) -> MacroChoice:
        from genolang.compiler.genotype.derive_macro import choice_v2

        return choice_v2(self.gamma.detach(), self.types)


class MacroEvalNetworkV2(_V2Network):
    """Version-2 discrete macro network: one cell type per depth."""

    version = 2

    def __init__(self, template: NetworkTemplate, genotype: Genotype,
                 types_per_depth: MacroChoice | Sequence[str] | None = None, *, depth: int | None = None,
                 affine: bool = True, phase: str = "eval", trainable_ensemble: bool = False,
                 drop_path: float | None = None):
        if types_per_depth is None:
            if genotype.macro is None:
                raise CompileError(f"genotype `{genotype.name}` has no macro choice; give the types per depth",
                                   genotype.span)
            types_per_depth = genotype.macro
        chosen = _types_of(types_per_depth)
        t = macro_template(template, depth)
        super().__init__(template, genotype, [(ty,) for ty in chosen], depth=depth, affine=affine, phase=phase,
                         trainable_ensemble=trainable_ensemble,
                         drop_path=t.drop_path if drop_path is None else drop_path)
        self.choice_ = MacroChoice(2, types=chosen)
